"""The platform interface. The agent's process uses the cheap parent-side half (availability, build
environment); the worker process uses the device-side half (sync, timer, cache flush, profiler)."""
from __future__ import annotations

import time
from typing import Callable

from pydantic import BaseModel


class Peaks(BaseModel):
    """Dense peak rates of a device: the speed-of-light floor divides work by these."""

    device: str
    bytes_per_s: float
    flops: dict[str, float]  # by dtype name ("float32", "bfloat16", ...): the best any unit reaches

    def flops_for(self, dtype: str) -> float:
        return self.flops.get(dtype) or max(self.flops.values())


class Platform:
    name: str = ""
    device_type: str = "cpu"
    language: str = "C++"

    # ---- parent side: no device initialisation here ----
    def check_available(self) -> None:
        """Raise PlatformError, one sentence, when this platform cannot run here."""

    def build_env(self, arch: str | None) -> dict[str, str]:
        """Environment variables the build needs (target architecture, compiler)."""
        return {}

    def visible_devices_env(self, index: int | None) -> dict[str, str]:
        return {}

    # ---- worker side ----
    def prepare(self) -> None:
        """Called once in the worker before anything runs."""

    def device(self):
        import torch

        return torch.device(self.device_type)

    def synchronize(self) -> None:
        pass

    def make_flush(self) -> Callable[[], None]:
        return lambda: None

    def time_ms(self, fn: Callable[[], object], flush: Callable[[], None]) -> float:
        """One timed call on a cold cache, everything the call started finished inside the window."""
        flush()
        self.synchronize()
        t0 = time.perf_counter()
        out = fn()
        self.synchronize()
        t1 = time.perf_counter()
        del out
        return (t1 - t0) * 1e3

    def describe(self) -> dict:
        return {"platform": self.name, "device_name": "", "arch": ""}

    def profiler_activities(self) -> list:
        from torch.profiler import ProfilerActivity

        return [ProfilerActivity.CPU]

    def free_memory_bytes(self) -> int:
        return 8 << 30

    def poison_free_memory(self, nbytes: int) -> None:
        """Fill memory the allocator will hand out next with NaN bit patterns."""
