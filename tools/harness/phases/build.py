"""Phase build: import the candidate (load_inline compiles its extension) and find its ModelNew."""

from __future__ import annotations

import os
import re
import time
import traceback

from tools.harness.results import Status
from tools.harness.session import PhaseFailure, Session, load_module

_SRC_LINE = [
    (re.compile(r"\S*cuda\.cu\((\d+)\)"), "cuda", 3),
    (re.compile(r"\S*cuda\.cu:(\d+)"), "cuda", 3),
    (re.compile(r"\S*hip\.hip:(\d+)"), "cuda", 3),
    (re.compile(r"\S*main\.cpp:(\d+)"), "cpp", 1),
]


def trim_build_errors(text: str, limit: int = 4000) -> str:
    """Keep the compiler's first errors, with line numbers turned into lines of the candidate's
    cuda_sources / cpp_sources (load_inline prepends a few #include lines)."""
    for rx, which, offset in _SRC_LINE:
        text = rx.sub(
            lambda m, which=which, offset=offset: f"{which}_sources line {max(1, int(m.group(1)) - offset)}", text
        )
    text = re.sub(r"\S*/(main\.cpp|cuda\.cu|hip\.hip)\b", r"\1", text)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first_err = next((i for i, ln in enumerate(lines) if re.search(r"\berror\b", ln, re.I)), 0)
    picked = lines[max(0, first_err - 2) :]
    keep = [
        ln
        for ln in picked
        if not ln.startswith(("[", "FAILED:", "ninja: build stopped")) and "-DTORCH_EXTENSION_NAME" not in ln
    ]
    out = "\n".join(keep or lines)
    return out if len(out) <= limit else out[:limit] + "\n... (truncated)"


def build(s: Session) -> dict:
    ext_dir = os.environ.get("TORCH_EXTENSIONS_DIR", "")
    cached = bool(ext_dir) and os.path.exists(os.path.join(ext_dir, ".built"))
    t0 = time.perf_counter()
    try:
        if s.req.build_calls is not None:
            return _compile(s.req.build_calls, t0)
        s.candidate = load_module(s.req.candidate_path, "candidate_kernel")
    except Exception as e:  # noqa: BLE001 - building runs the candidate's Python
        text = f"{type(e).__name__}: {e}"
        if not isinstance(e, SyntaxError) and "Error building extension" not in text:
            text += "\n" + "".join(traceback.format_exception(e)[-3:])
        raise PhaseFailure(
            Status.build_error,
            "build failed",
            build={"ok": False, "seconds": time.perf_counter() - t0, "errors": trim_build_errors(text)},
        ) from e
    seconds = time.perf_counter() - t0
    model_new = getattr(s.candidate, "ModelNew", None)
    if model_new is None or not isinstance(model_new, type) or not issubclass(model_new, s.torch.nn.Module):
        raise PhaseFailure(
            Status.build_error, "the file defines no ModelNew(nn.Module) class", build={"ok": True, "seconds": seconds}
        )
    if issubclass(model_new, s.reference.Model) or any(b.__name__ == "Model" for b in model_new.__mro__):
        raise PhaseFailure(
            Status.static_error, "ModelNew inherits from the reference Model", build={"ok": True, "seconds": seconds}
        )
    return {"ok": True, "seconds": seconds, "cached": cached}


def _compile(calls: list[dict], t0: float) -> dict:
    """The candidate's load_inline calls with their own arguments; its module is imported later, by the
    worker that checks it, from this build."""
    from torch.utils.cpp_extension import load_inline

    for call in calls:
        load_inline(*call["args"], **call["kwargs"])
    return {"ok": True, "seconds": time.perf_counter() - t0, "cached": False}
