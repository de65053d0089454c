"""The cpu platform: C++ through g++, timed with perf_counter. It exists so the whole loop runs in CI
and on laptops; same worker, same rules."""

from __future__ import annotations

import contextlib
import functools
import os
import platform as _platform
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from tools.errors import PlatformError
from tools.platforms.base import BasePlatform

# ATen ops on the CPU that only allocate or re-view memory: they do none of the problem's work.
_BOOKKEEPING = re.compile(
    r"^aten::(empty|empty_like|empty_strided|view|reshape|_reshape_alias|as_strided|"
    r"detach|alias|t|transpose|permute|expand|unsqueeze|squeeze|select|slice|"
    r"resize_|contiguous|lift_fresh|to|_to_copy|numel|size|stride|item|"
    r"_local_scalar_dense|is_nonzero|result_type)$"
)


class CpuPlatform(BasePlatform):
    name = "cpu"
    device_type = "cpu"
    detect_rank = 100

    def check_available(self) -> None:
        cxx = os.environ.get("CXX", "c++")
        if not shutil.which(cxx) and not shutil.which("g++"):
            raise PlatformError("No C++ compiler found: install g++ (e.g. apt-get install g++) or set CXX.")

    # Below glibc's mmap threshold (fixed in prepare), so the poison stays in the heap after it is freed.
    poison_piece_bytes = 8 << 20

    def prepare(self) -> None:
        import torch

        # One thread for reference and candidate alike: intra-op thread wake-ups on small shared
        # machines cost milliseconds and would swamp the kernels being compared.
        torch.set_num_threads(1)
        _keep_freed_memory_in_heap()

    def build_headers(self, root: Path, build_calls: list[dict] | None) -> Path | None:
        """torch/extension.h precompiled for the build's flags: about half of a small extension's g++ time."""
        from tools.platforms import cpu_pch

        return cpu_pch.folder(root, build_calls)

    def make_flush(self) -> Callable[[], None]:
        import torch

        # Larger than any desktop or server last-level cache slice a single core sees.
        buf = torch.empty(64 << 20, dtype=torch.uint8)

        def flush() -> None:
            buf.fill_(1)

        return flush

    def describe(self, index: int = 0) -> dict:
        return {
            "platform": "cpu",
            "device_count": 0,
            "device_name": _platform.processor() or _platform.machine(),
            "arch": _platform.machine(),
            "cores": os.cpu_count(),
        }

    @contextlib.contextmanager
    def poisoned_allocations(self, byte: int = 0xFF) -> Iterator[None]:
        # glibc's M_PERTURB fills every block malloc hands out with the complement of the value's low
        # byte. Poisoning freed memory alone is not enough on the CPU: a small scratch buffer may come
        # from a freed block the poison pass never reused, still holding the reference's numbers, and a
        # kernel that accumulates into it unzeroed gets plain wrong values by luck instead of NaN. The
        # value's 0x100 bit keeps it nonzero (zero switches the option off) when the fill is 0xFF.
        m_perturb = -6
        on = _mallopt(m_perturb, 0x100 | (~byte & 0xFF))
        try:
            yield
        finally:
            if on:
                _mallopt(m_perturb, 0)

    def free_memory_bytes(self) -> int:
        try:
            pages = os.sysconf("SC_AVPHYS_PAGES")
            return int(pages * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            return 4 << 30

    def profile_records(self, events):
        """ATen ops by self time, leaving out those that only allocate or re-view memory."""
        from torch.autograd import DeviceType

        from tools.harness.profilers.torch_profiler import records_from

        return records_from(
            (e.name, float(e.self_cpu_time_total))
            for e in events
            if e.device_type == DeviceType.CPU and e.name.startswith("aten::") and not _BOOKKEEPING.match(e.name)
        )

    def own_share(self, records, plain_s, kernel_names) -> float:
        """ATen's self time per call (of 3 profiled calls) against the unprofiled time per call: what is
        not ATen is the candidate's own code (and the binding's small overhead)."""
        aten_us = sum(r.total_us for r in records) / 3
        return max(0.0, 1.0 - aten_us / max(sorted(plain_s)[len(plain_s) // 2] * 1e6, 1.0))

    def judge_profile(self, records, own_share, kernel_names) -> str | None:
        if records and own_share < 0.5:
            top = ", ".join(f"{r.name.split('(')[0][:60]} {100 * r.share:.0f}%" for r in records if not r.own)[:300]
            return (
                f"ATen ops did most of the work ({100 * (1 - own_share):.0f}% of the forward's time: {top}); "
                f"compute it in your own C++ code"
            )
        return None


def _keep_freed_memory_in_heap() -> None:
    """glibc hands memory back to the kernel (fresh pages come back zeroed) when a freed block was
    mmapped or the heap's top grows past the trim threshold. Either would turn the harness's poisoned
    blocks into zeros again, so a kernel that reads memory it never wrote would pass by luck: keep
    blocks up to 32 MB in the heap and never trim it."""
    m_trim_threshold, m_mmap_threshold = -1, -3
    _mallopt(m_trim_threshold, 1 << 30)
    _mallopt(m_mmap_threshold, 32 << 20)


def _mallopt(param: int, value: int) -> bool:
    """glibc's mallopt; False where there is none (musl, macOS): the poison is best effort there."""
    mallopt = _libc_mallopt()
    return bool(mallopt is not None and mallopt(param, value))


@functools.cache
def _libc_mallopt():
    # Looked up once: the check trials switch the fill on and off around every candidate call.
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return getattr(ctypes.CDLL(name), "mallopt", None)
    except OSError:
        return None


PLATFORM = CpuPlatform
