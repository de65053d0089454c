"""The platform interface. The agent's process uses the cheap parent-side half (availability, build
environment); the worker process uses the device-side half (sync, timer, cache flush, profiler)."""
from __future__ import annotations

import contextlib
import os
import time
from typing import Callable, Iterator

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
    poison_piece_bytes: int | None = None  # the large poison block in pieces of at most this size
    visible_devices_var: str | None = None  # the variable that gives a worker its lane's one device

    # ---- parent side: no device initialisation here ----
    def check_available(self) -> None:
        """Raise PlatformError, one sentence, when this platform cannot run here."""

    def build_env(self, arch: str | None) -> dict[str, str]:
        """Environment variables the build needs (target architecture, compiler)."""
        return {}

    def visible_devices_env(self, index: int | None) -> dict[str, str]:
        """The worker's one device: lane `index` counts the devices this process sees, so when the user
        narrowed them (CUDA_VISIBLE_DEVICES=2,3) lane 1 is device 3."""
        if index is None or self.visible_devices_var is None:
            return {}
        narrowed = [d.strip() for d in os.environ.get(self.visible_devices_var, "").split(",") if d.strip()]
        return {self.visible_devices_var: narrowed[index] if index < len(narrowed) else str(index)}

    # ---- worker side ----
    def prepare(self) -> None:
        """Called once in the worker before anything runs."""
        self.check_one_device()

    def check_one_device(self) -> None:
        """A worker given one device must see exactly one: a spare worker gets its lane's device from its
        request, which works only if nothing initialised the driver before (it reads the variable once)."""
        wanted = os.environ.get(self.visible_devices_var or "", "")
        if not wanted.strip().isdigit():
            return
        import torch

        seen = torch.cuda.device_count()
        if seen != 1:
            raise RuntimeError(f"{self.visible_devices_var}={wanted} but this worker sees {seen} devices: the "
                               "driver was initialised before the request set it")

    def device(self):
        import torch

        return torch.device(self.device_type)

    def synchronize(self) -> None:
        pass

    def make_flush(self) -> Callable[[], None]:
        return lambda: None

    def time_call(self, fn: Callable[[], object], flush: Callable[[], None]) -> tuple[float, float, object]:
        """One call on a cold cache: (device ms, host ms until everything it started finished, output).
        On the CPU the two are the same clock."""
        flush()
        self.synchronize()
        t0 = time.perf_counter()
        out = fn()
        self.synchronize()
        ms = (time.perf_counter() - t0) * 1e3
        return ms, ms, out

    def time_batch(self, calls: list[Callable[[], object]], flush: Callable[[], None]) -> list[tuple[float, object]]:
        """Each call on a cold cache, back to back: [(device ms, output)]. A device with a queue takes
        them all before waiting once, so launch overhead hides behind the work as in a busy pipeline."""
        return [(ms, out) for ms, _, out in (self.time_call(fn, flush) for fn in calls)]

    def describe(self, index: int = 0) -> dict:
        return {"platform": self.name, "device_name": "", "arch": "", "device_count": 0}

    def profiler_activities(self) -> list:
        from torch.profiler import ProfilerActivity

        return [ProfilerActivity.CPU]

    def free_memory_bytes(self) -> int:
        return 8 << 30

    @contextlib.contextmanager
    def poisoned_allocations(self, byte: int = 0xFF) -> Iterator[None]:
        """While the candidate runs: memory it allocates starts out as `byte`, where the allocator
        allows it. Device allocators that keep freed blocks get theirs from poison_free_memory instead."""
        yield

    def poison_free_memory(self, nbytes: int, byte: int = 0xFF, block_sizes: tuple[int, ...] = ()) -> None:
        """Fill memory the allocator will hand out next with a byte pattern (0xFF: NaN in every float
        format), so outputs a kernel never writes, or stale buffers it reads, give themselves away.
        Blocks of the sizes the candidate is likely to ask for (its outputs) take the freed blocks an
        allocator would reuse; one large block covers the rest."""
        import torch

        # Everything together stays within 80% of free memory: on a KernelBench-size problem (6 GB
        # tensors) four blocks of the output's size would not fit beside the live inputs and outputs.
        budget = int(0.8 * self.free_memory_bytes())
        held = []
        for size in (s for s in block_sizes if s > 0):
            for _ in range(4):
                if size > budget:
                    break
                held.append(torch.empty(size, dtype=torch.uint8, device=self.device_type).fill_(byte))
                budget -= size
        rest = min(nbytes, budget)
        while rest > 0:
            piece = min(rest, self.poison_piece_bytes or rest)
            held.append(torch.empty(piece, dtype=torch.uint8, device=self.device_type).fill_(byte))
            rest -= piece
        self.synchronize()
        while held:
            held.pop()
