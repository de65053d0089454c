"""The platforms, one module each: a module of this package that sets `PLATFORM` to a class following
`tools.platforms.base.Platform` is a backend. Adding one is adding its file (and its system prompt in
prompts/config.json)."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from tools.errors import PlatformError
from tools.platforms.base import BasePlatform, Platform

__all__ = ["BasePlatform", "Platform", "detect", "get_platform", "names", "platform_class"]


@functools.cache
def _registry() -> dict[str, type]:
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(__path__):
        cls = getattr(importlib.import_module(f"{__name__}.{info.name}"), "PLATFORM", None)
        if cls is not None:
            found[cls.name] = cls
    return dict(sorted(found.items(), key=lambda kv: kv[1].detect_rank))


def names() -> tuple[str, ...]:
    """The platform names, in the order detect() tries them."""
    return tuple(_registry())


def platform_class(name: str) -> type:
    try:
        return _registry()[name]
    except KeyError:
        raise PlatformError(f"Unknown platform '{name}': use one of {', '.join(names())}.") from None


def detect() -> str:
    """The first GPU platform, by rank, whose runtime this torch build has. Never cpu: a full-size
    problem on the CPU takes hours, so that platform is only ever asked for by name."""
    found = next((name for name, cls in _registry().items() if name != "cpu" and cls.present()), None)
    if found is None:
        raise PlatformError(f"{_no_gpu()}: pass --platform cpu to run on the CPU, or run where torch sees a GPU.")
    return found


def _no_gpu() -> str:
    import torch

    if torch.version.cuda:
        return f"torch {torch.__version__} is built for CUDA {torch.version.cuda} but sees no GPU"
    return f"No GPU platform: torch {torch.__version__} is built without CUDA or ROCm"


def get_platform(name: str | None = None) -> Platform:
    return platform_class(name or detect())()
