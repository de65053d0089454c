"""One module per platform behind one small interface; `get_platform` picks by name or detects."""
from __future__ import annotations

from tools.errors import PlatformError
from tools.platforms.base import Platform

NAMES = ("cuda", "rocm", "cpu")


def detect() -> str:
    import torch

    if getattr(torch.version, "hip", None):
        return "rocm"
    if torch.version.cuda and torch.cuda.is_available():
        return "cuda"
    return "cpu"


def get_platform(name: str | None = None) -> Platform:
    name = name or detect()
    if name == "cuda":
        from tools.platforms.cuda import CudaPlatform

        return CudaPlatform()
    if name == "cpu":
        from tools.platforms.cpu import CpuPlatform

        return CpuPlatform()
    if name == "rocm":
        from tools.platforms.rocm import RocmPlatform

        return RocmPlatform()
    raise PlatformError(f"Unknown platform '{name}': use one of {', '.join(NAMES)}.")
