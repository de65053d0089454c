"""Advice on a candidate's build time, given when it is stored (before it costs an attempt)."""

from __future__ import annotations

import re

from tools.harness.source_extract import extract_sources, strip_comments

_EXTENSION_H_RE = re.compile(r"^\s*#\s*include\s*[<\"]torch/extension\.h[>\"]", re.M)


def build_notes(source: str, platform: str) -> list[str]:
    """Notes on what makes this candidate's build slow and what to write instead; none on a host-only
    platform, where load_inline's one C++ unit includes <torch/extension.h> whatever the source says."""
    from tools.platforms import platform_class

    compiler = platform_class(platform).device_compiler
    if compiler is None:
        return []
    try:
        cuda = extract_sources(source).cuda
    except SyntaxError:
        return []
    if not _EXTENSION_H_RE.search(strip_comments(cuda)):
        return []
    return [
        f"your cuda_sources include <torch/extension.h>, which makes {compiler} parse pybind11, Python and "
        "torch's whole C++ frontend and more than doubles the build; <torch/types.h> gives tensors, "
        "TORCH_CHECK and torch::empty_like, and load_inline's own binding unit already includes "
        "<torch/extension.h>."
    ]
