"""The platform contract. Everything that differs between backends (compiler and flags, the build
target, device visibility, synchronisation, cache flush, poison, profiler, counters, source rules) sits
behind `Platform`; the harness never asks which platform it runs on, only what the platform does.

The agent's process uses the parent side (availability, build environment, counters); the worker
process uses the device side (sync, timers, flush, poison, profiler records, the profile's verdict).
`BasePlatform` holds the defaults a host-only backend needs; a backend overrides what differs."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from tools.harness.results import KernelRecord, ProfileInfo, Violation

# Runs the candidate-replay worker under a profiler command prefix, in a folder; returns its outcome.
PrefixedRun = Callable[[list, Path], object]


class Platform(Protocol):
    name: ClassVar[str]
    device_type: ClassVar[str]  # torch's device type for tensors
    detect_rank: ClassVar[int]  # lower is tried first by detect()
    visible_devices_var: ClassVar[str | None]  # gives a worker its lane's one device; None: no device choice
    device_compiler: ClassVar[str | None]  # what compiles device code (nvcc, hipcc); None: host only
    needs_device_kernel: ClassVar[bool]  # a candidate must define a __global__ kernel
    spares_overlap_timing: ClassVar[bool]  # a spare may import while another worker is being timed
    time_with_check: ClassVar[bool]  # a device lane's fixed cost per worker is worth saving
    own_share_label: ClassVar[str | None]  # what ProfileInfo.own_share is a share of, for the model

    @staticmethod
    def present() -> bool: ...

    @property
    def prompt_variant(self) -> str | None: ...

    # ---- parent side: no device initialisation here ----
    def check_available(self) -> None: ...
    def build_only_evaluator(self, config, arch_required: bool = False) -> Any: ...
    def build_arch(self, explicit: str | None, device: Callable[[], dict]) -> str | None: ...
    def build_env(self, arch: str | None) -> dict[str, str]: ...
    def library_roots(self) -> dict[str, Path]: ...
    def visible_devices_env(self, index: int | None) -> dict[str, str]: ...
    def source_rules(self, source: str) -> list[Violation]: ...
    def sandbox_devices(self) -> list[str]: ...
    def ray_lanes(self, resources: dict[str, float]) -> int: ...
    def ray_lane_options(self) -> dict[str, float]: ...
    def build_headers(self, root: Path, build_calls: list[dict] | None) -> Path | None: ...
    def counters(self, run: PrefixedRun, workdir: Path, kernel_names: list[str]) -> tuple[str, dict]: ...
    def vendor_profile(
        self, run: PrefixedRun, workdir: Path, kernel_names: list[str], profile: ProfileInfo
    ) -> None: ...

    # ---- worker side ----
    def start_context(self) -> None:
        """Called once in a worker whose request uses the device, before the candidate is imported: a
        device whose context takes long to create may start creating it now, beside that import."""

    def prepare(self) -> None: ...
    def seal_timers(self) -> None: ...
    def device(self): ...
    def describe(self, index: int = 0) -> dict: ...
    def synchronize(self) -> None: ...
    def make_flush(self) -> Callable[[], None]: ...
    def time_call(self, fn: Callable[[], object], flush: Callable[[], None]) -> tuple[float, float, object]: ...
    def time_batch(
        self, calls: list[Callable[[], object]], flush: Callable[[], None]
    ) -> list[tuple[float, object]]: ...
    def free_memory_bytes(self) -> int: ...
    def poisoned_allocations(self, byte: int = 0xFF) -> contextlib.AbstractContextManager: ...
    def poison_free_memory(self, nbytes: int, byte: int = 0xFF, block_sizes: tuple[int, ...] = ()) -> None: ...
    def profiler_activities(self) -> list: ...
    def profile_records(self, events) -> list[KernelRecord]: ...
    def own_share(self, records: list[KernelRecord], plain_s: list[float], kernel_names: list[str]) -> float: ...
    def judge_profile(self, records: list[KernelRecord], own_share: float, kernel_names: list[str]) -> str | None: ...
    def device_ms_per_call(self, records: list[KernelRecord], calls: int) -> float | None: ...


class BasePlatform:
    """Defaults for a backend whose candidates run on the host; GPU backends override the device side."""

    name: ClassVar[str] = ""
    device_type: ClassVar[str] = "cpu"
    detect_rank: ClassVar[int] = 100
    visible_devices_var: ClassVar[str | None] = None
    device_compiler: ClassVar[str | None] = None
    needs_device_kernel: ClassVar[bool] = False
    spares_overlap_timing: ClassVar[bool] = False
    # A passing check goes on to profile and time in the same worker (EvalConfig.time_with_check's default).
    time_with_check: ClassVar[bool] = False
    own_share_label: ClassVar[str | None] = None
    has_counters: ClassVar[bool] = False  # a vendor profiler reads hardware counters (counters())
    poison_piece_bytes: ClassVar[int | None] = None  # the large poison block in pieces of at most this size
    # What the worker times and synchronises with, sealed before the candidate is imported (harness.seal).
    timer_names: ClassVar[dict[str, str]] = {"clock": "time.perf_counter", "monotonic": "time.monotonic"}
    _timers = None

    @staticmethod
    def present() -> bool:
        return True

    @property
    def prompt_variant(self) -> str | None:
        """The family-advice variant the prompts should use (prompts/config.json), if any."""
        return None

    # ---- parent side ----
    def check_available(self) -> None:
        """Raise PlatformError, one sentence, when this platform cannot run here."""

    def build_only_evaluator(self, config, arch_required: bool = False):
        """Where only builds are asked for and this platform cannot run here, an evaluator that compiles
        without the device (same evaluate interface); None to use the full one. `arch_required`: the
        build target must be named, since no device can be asked which it is."""
        return None

    def build_arch(self, explicit: str | None, device: Callable[[], dict]) -> str | None:
        """The target the build uses: the user's, else the platform's own choice (`device` probes the
        first lane's device, for platforms that build for what they find)."""
        return explicit

    def build_env(self, arch: str | None) -> dict[str, str]:
        """Environment variables the build needs (target architecture, compiler)."""
        return {}

    def library_roots(self) -> dict[str, Path]:
        """The header folders the model may read with read_library, by name (those that exist)."""
        return {}

    def visible_devices_env(self, index: int | None) -> dict[str, str]:
        """The worker's one device: lane `index` counts the devices this process sees, so when the user
        narrowed them (CUDA_VISIBLE_DEVICES=2,3) lane 1 is device 3."""
        if index is None or self.visible_devices_var is None:
            return {}
        narrowed = [d.strip() for d in os.environ.get(self.visible_devices_var, "").split(",") if d.strip()]
        return {self.visible_devices_var: narrowed[index] if index < len(narrowed) else str(index)}

    def source_rules(self, source: str) -> list[Violation]:
        """Platform-specific static rules, beyond the ones every candidate follows."""
        return []

    def sandbox_devices(self) -> list[str]:
        """The device nodes a sandboxed worker needs, beyond /dev's plain ones (null, zero, urandom...)."""
        return []

    def ray_lanes(self, resources: dict[str, float]) -> int:
        """The lanes a Ray node with these resources offers (tools.harness.ray_pool). The host is what is
        timed here, so a node with a CPU to spare is one lane, as this machine is one lane without Ray."""
        return 1 if resources.get("CPU", 0) >= 1 else 0

    def ray_lane_options(self) -> dict[str, float]:
        """What each Ray lane actor holds of its node."""
        return {"num_cpus": 1}

    def build_headers(self, root: Path, build_calls: list[dict] | None) -> Path | None:
        """An include folder of precompiled headers (under `root`, made now if missing) for a build from
        these load_inline arguments, which its compiler searches first; None: the build goes without."""
        return None

    def counters(self, run: PrefixedRun, workdir: Path, kernel_names: list[str]) -> tuple[str, dict]:
        """The vendor profiler's counters for the candidate's own kernels: (text for the model, data)."""
        return f"counters: there are no hardware counters on the {self.name} platform.", {}

    def vendor_profile(self, run: PrefixedRun, workdir: Path, kernel_names: list[str], profile: ProfileInfo) -> None:
        """Add what a vendor profiler tells about each kernel to a correct candidate's profile, when the
        platform has one that is cheap enough to run on every profile."""

    # ---- worker side ----
    def start_context(self) -> None:
        """Called once in a worker whose request uses the device, before the candidate is imported: a
        device whose context takes long to create may start creating it now, beside that import."""

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
            raise RuntimeError(
                f"{self.visible_devices_var}={wanted} but this worker sees {seen} devices: the "
                "driver was initialised before the request set it"
            )

    def device(self):
        import torch

        return torch.device(self.device_type)

    def seal_timers(self) -> None:
        """Bind the timing primitives now, while only the harness's code has run."""
        from tools.harness.seal import Seal

        self._timers = Seal(self.timer_names)

    @property
    def timers(self):
        """The sealed primitives (sealed at first use where the worker did not seal them first)."""
        if self._timers is None:
            self.seal_timers()
        return self._timers

    def describe(self, index: int = 0) -> dict:
        return {"platform": self.name, "device_name": "", "arch": "", "device_count": 0}

    def synchronize(self) -> None:
        pass

    def make_flush(self) -> Callable[[], None]:
        return lambda: None

    def time_call(self, fn: Callable[[], object], flush: Callable[[], None]) -> tuple[float, float, object]:
        """One call on a cold cache: (device ms, host ms until everything it started finished, output).
        On the host the two are the same clock."""
        clock = self.timers.clock
        flush()
        self.synchronize()
        t0 = clock()
        out = fn()
        self.synchronize()
        ms = (clock() - t0) * 1e3
        return ms, ms, out

    def time_batch(self, calls: list[Callable[[], object]], flush: Callable[[], None]) -> list[tuple[float, object]]:
        """Each call on a cold cache, back to back: [(device ms, output)]. A device with a queue takes
        them all before waiting once, so launch overhead hides behind the work as in a busy pipeline."""
        return [(ms, out) for ms, _, out in (self.time_call(fn, flush) for fn in calls)]

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

    def profiler_activities(self) -> list:
        from torch.profiler import ProfilerActivity

        return [ProfilerActivity.CPU]

    def profile_records(self, events) -> list[KernelRecord]:
        """What ran under torch's profiler (its FunctionEvents), per name: on a device, its kernels; here,
        ATen ops."""
        raise NotImplementedError

    def own_share(self, records: list[KernelRecord], plain_s: list[float], kernel_names: list[str]) -> float:
        """The fraction of the work done by the candidate's own code."""
        raise NotImplementedError

    def judge_profile(self, records: list[KernelRecord], own_share: float, kernel_names: list[str]) -> str | None:
        """Why the profile shows the work was not the candidate's own, or None."""
        return None

    def device_ms_per_call(self, records: list[KernelRecord], calls: int) -> float | None:
        """The device's busy time per call from the profiler's own activity records, which no timer in
        the worker's Python touches; None where the records do not cover a whole call (the host's
        ATen records leave out the candidate's own C++)."""
        return None
