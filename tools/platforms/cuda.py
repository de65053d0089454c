"""The cuda platform: CUDA C++ through nvcc, CUDA events, L2 flush, torch.profiler kernels."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from tools.errors import PlatformError
from tools.platforms.base import BasePlatform


def normalise_cuda_arch(arch: str) -> str:
    """'sm_90a', '90a', '9.0a' and 'compute_90' all become torch's TORCH_CUDA_ARCH_LIST form '9.0a'."""
    a = arch.strip().lower().removeprefix("sm_").removeprefix("compute_")
    if "." in a:
        return a
    suffix = a[-1] if a and a[-1].isalpha() else ""
    digits = a[:-1] if suffix else a
    if not digits.isdigit() or len(digits) < 2:
        raise PlatformError(f"Unrecognised CUDA arch '{arch}': use a form like sm_90 or sm_90a.")
    return f"{digits[:-1]}.{digits[-1]}{suffix}"


class CudaPlatform(BasePlatform):
    name = "cuda"
    device_type = "cuda"
    detect_rank = 20
    visible_devices_var = "CUDA_VISIBLE_DEVICES"
    device_compiler = "nvcc"
    needs_device_kernel = True
    # A spare touches no device until it has its request, so it may import beside a timed run.
    spares_overlap_timing = True
    # A worker's fixed cost on its lane (import, context, models: about 0.5 s) is paid once, not twice.
    time_with_check = True
    own_share_label = "device time"
    has_counters = True
    flush_min_bytes = 256 << 20
    timer_names = BasePlatform.timer_names | {
        "synchronize": "torch.cuda.synchronize",
        "Event": "torch.cuda.Event",
        "record": "torch.cuda.Event.record",
        "elapsed": "torch.cuda.Event.elapsed_time",
        "current_stream": "torch.cuda.current_stream",
        # what those call by name, watched for a change too
        "c_synchronize": "torch._C._cuda_synchronize",
        "c_current_stream": "torch._C._cuda_getCurrentStream",
        "c_record": "torch._C._CudaEventBase.record",
        "c_elapsed": "torch._C._CudaEventBase.elapsed_time",
        "sleep": "torch.cuda._sleep",
        "c_sleep": "torch._C._cuda_sleep",
    }
    # Device time a timed batch waits before its first call, so the host queues that call before the
    # device reaches it (see time_batch).
    head_start_ms = 1.0
    _cycles_per_ms: float | None = None  # the spin kernel's clock, measured at first use

    @staticmethod
    def present() -> bool:
        import torch

        return bool(torch.version.cuda) and torch.cuda.is_available()

    def check_available(self) -> None:
        import torch

        if not torch.version.cuda:
            raise PlatformError(
                "This torch build has no CUDA support: install a CUDA build of torch, or use --platform cpu."
            )
        if torch.cuda.device_count() == 0:
            raise PlatformError(
                "No NVIDIA GPU is visible (torch.cuda.device_count() is 0): check the driver and CUDA_VISIBLE_DEVICES, or use --platform cpu."
            )
        self._check_compiler()

    def _check_compiler(self) -> None:
        from torch.utils.cpp_extension import CUDA_HOME

        nvcc = os.path.join(CUDA_HOME, "bin", "nvcc") if CUDA_HOME else shutil.which("nvcc")
        if not nvcc or not os.path.exists(nvcc):
            raise PlatformError("nvcc was not found: install the CUDA toolkit or set CUDA_HOME to it.")

    def library_roots(self) -> dict[str, Path]:
        from torch.utils.cpp_extension import CUDA_HOME

        include = Path(CUDA_HOME) / "include" if CUDA_HOME else None
        return {"cuda": include} if include is not None and include.is_dir() else {}

    def build_arch(self, explicit: str | None, device) -> str | None:
        return explicit or device().get("arch") or None

    def build_env(self, arch: str | None) -> dict[str, str]:
        return {"TORCH_CUDA_ARCH_LIST": normalise_cuda_arch(arch)} if arch else {}

    def sandbox_devices(self) -> list[str]:
        """The driver's nodes: nvidiactl, nvidia-uvm(-tools), one per GPU, and nvidia-caps (MIG, counters)."""
        import glob

        return sorted(glob.glob("/dev/nvidia*"))

    def ray_lanes(self, resources: dict[str, float]) -> int:
        """One lane per GPU Ray counts on the node (AMD GPUs included: Ray names both GPU)."""
        return int(resources.get("GPU", 0))

    def ray_lane_options(self) -> dict[str, float]:
        """One GPU, which Ray makes the actor's only visible device; builds and workers use the node's
        CPUs outside Ray's count."""
        return {"num_cpus": 0, "num_gpus": 1}

    def counters(self, run, workdir, kernel_names) -> tuple[str, dict]:
        from tools.harness.profilers.ncu import cuda_counters

        return cuda_counters(run, workdir, kernel_names)

    # ---- worker side ----
    def start_context(self) -> None:
        """The primary context (0.13-0.19 s on an H200) made on a thread of its own while the main thread
        imports the build, and the fused comparison's module loaded into it there; torch's first device
        call then finds the context made. ctypes lets go of the GIL while the driver works. Should this
        fail, torch makes the context itself and reports any error."""
        threading.Thread(target=_retain_primary_context, name="hipgen-context", daemon=True).start()

    def synchronize(self) -> None:
        self.timers.synchronize()

    def make_flush(self) -> Callable[[], None]:
        """Read a buffer larger than the caches. A read leaves them holding clean lines, so the timed
        call starts on a cold cache without first paying to write back the flush's own dirty lines
        (a memset flush does that: about 50 MB of write-back, several microseconds, inside the next
        call's window). The previous call's outputs are written back here, before the window opens."""
        import torch

        l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 0)
        buf = torch.ones(max(self.flush_min_bytes, 4 * l2) // 4, dtype=torch.int32, device="cuda")
        acc = torch.empty((), dtype=torch.int32, device="cuda")

        def flush() -> None:
            torch.amax(buf, out=acc)

        return flush

    def time_call(self, fn, flush):
        """One call with the host clock running until a device-wide sync returns: work hidden on other
        streams, or left running after the call, shows up as the gap between the two clocks."""
        t = self.timers
        start, end = t.Event(enable_timing=True), t.Event(enable_timing=True)
        t.synchronize()
        flush()
        t.record(start, t.current_stream())
        t0 = t.clock()
        out = fn()
        t.record(end, t.current_stream())
        t.synchronize()
        host_ms = (t.clock() - t0) * 1e3
        return t.elapsed(start, end), host_ms, out

    def time_batch(self, calls, flush):
        """Events on the current stream around each call, the whole batch queued before one sync, as
        triton's do_bench does: the device time of each call, without host launch gaps."""
        t = self.timers
        t.synchronize()
        # Without a head start the first call of a batch began on an idle device, its start event
        # recorded before the host had queued its kernels: 2-4% slower than the calls queued behind
        # it (H200, 1.4-6 ms kernels), so the two sides' samples split into two modes by position.
        self._head_start(self.head_start_ms)
        marks = []
        for fn in calls:
            start, end = t.Event(enable_timing=True), t.Event(enable_timing=True)
            flush()
            t.record(start, t.current_stream())
            out = fn()
            t.record(end, t.current_stream())
            marks.append((start, end, out))
        t.synchronize()
        return [(t.elapsed(start, end), out) for start, end, out in marks]

    def _head_start(self, ms: float) -> None:
        """Keep the current stream busy for about `ms` (a spin kernel), calibrated at first use."""
        t = self.timers
        try:
            sleep = t.sleep
        except AttributeError:  # a torch build without the spin kernel: no head start
            return
        if self._cycles_per_ms is None:
            start, end = t.Event(enable_timing=True), t.Event(enable_timing=True)
            sleep(1000)  # its first launch loads the kernel
            t.record(start, t.current_stream())
            sleep(1_000_000)
            t.record(end, t.current_stream())
            t.synchronize()
            self._cycles_per_ms = 1_000_000 / max(t.elapsed(start, end), 1e-3)
        sleep(int(ms * self._cycles_per_ms))

    def describe(self, index: int = 0) -> dict:
        import torch

        p = torch.cuda.get_device_properties(index)
        return {
            "platform": self.name,
            "device_name": p.name,
            "arch": f"sm_{p.major}{p.minor}",
            "device_count": torch.cuda.device_count(),
            "capability": f"{p.major}.{p.minor}",
            "multiprocessors": p.multi_processor_count,
            "l2_bytes": getattr(p, "L2_cache_size", 0),
            "memory_bytes": p.total_memory,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
        }

    def profiler_activities(self) -> list:
        from torch.profiler import ProfilerActivity

        return [ProfilerActivity.CPU, ProfilerActivity.CUDA]

    def profile_records(self, events):
        """Device kernels by name, with their device time."""
        from torch.autograd import DeviceType

        from tools.harness.profilers.torch_profiler import records_from

        return records_from(
            (e.name, float(e.time_range.elapsed_us())) for e in events if e.device_type == DeviceType.CUDA
        )

    def own_share(self, records, plain_s, kernel_names) -> float:
        from tools.harness.profilers.torch_profiler import mark_own

        return mark_own(records, kernel_names)

    def judge_profile(self, records, own_share, kernel_names) -> str | None:
        if not kernel_names or not records:
            return None
        top = ", ".join(f"{r.name.split('(')[0][:60]} {100 * r.share:.0f}%" for r in records if not r.own)[:300]
        if own_share == 0.0:
            return f"none of the kernels in your source ran ({', '.join(kernel_names)}); the device time went to {top}"
        if own_share < 0.5:
            return (
                f"library kernels did most of the work: only {100 * own_share:.0f}% of the device time was in "
                f"your kernels; the rest went to {top}"
            )
        return None

    def device_ms_per_call(self, records, calls: int) -> float | None:
        """Every kernel's device time (CUPTI's activity records), per call."""
        return sum(r.total_us for r in records) / calls / 1e3 if records else None

    def free_memory_bytes(self) -> int:
        import torch

        free, _ = torch.cuda.mem_get_info()
        return int(free)

    def poison_free_memory(self, nbytes: int, byte: int = 0xFF, block_sizes: tuple[int, ...] = ()) -> None:
        """What the candidate can be handed is what the caching allocator holds free, and fresh memory
        where nothing cached fits. So every free cached block gets the byte, where it lies (no blocks go
        back to the driver and come again, which cost about 0.1 s a trial on 6 GB problems), and one
        free block of at least `nbytes`, poisoned with them, is kept for requests that fit no other."""
        from tools.platforms.cuda_poison import poison_cached_blocks

        if not poison_cached_blocks(nbytes, byte, int(0.8 * self.free_memory_bytes())):
            # blocks held for another stream, or freed with uses pending: released, as before
            import torch

            torch.cuda.empty_cache()
            super().poison_free_memory(nbytes, byte, block_sizes)


def _retain_primary_context() -> None:
    import ctypes

    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return
    dev, ctx = ctypes.c_int(), ctypes.c_void_p()
    if cuda.cuInit(0) == 0 and cuda.cuDeviceGet(ctypes.byref(dev), 0) == 0:
        if cuda.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev) == 0 and cuda.cuCtxSetCurrent(ctx) == 0:
            from tools.platforms import cuda_compare

            cuda_compare.load_into_current_context()


PLATFORM = CudaPlatform
