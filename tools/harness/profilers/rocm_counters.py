"""Counters on AMD, when the model asks: one rocprofv3 run per counter pass (a pass is what the
hardware can count at once), merged into the per-kernel digest."""

from __future__ import annotations

import shutil
from pathlib import Path

from tools.harness.profilers.bottleneck import from_amd
from tools.harness.profilers.rocprof import (
    COUNTER_PASSES,
    find_profiler,
    output_files,
    parse_counter_collection,
    parse_kernel_trace,
    profiler_command,
)
from tools.harness.profilers.rocprof_digest import digest, digest_text


def merge_passes(out_dirs: list[Path], name: str, kernel_names: list[str]):
    """Kernel trace from the first pass that has one; counters from every pass. Dispatch ids restart in
    each run, so each pass's ids are moved into their own range."""
    trace: list[dict] = []
    counters: dict[int, dict] = {}
    for i, d in enumerate(out_dirs):
        files = output_files(d, name)
        if not trace and "kernel_trace" in files:
            trace = parse_kernel_trace(files["kernel_trace"])
        if "counter_collection" in files:
            for dispatch, rec in parse_counter_collection(files["counter_collection"]).items():
                counters[(i + 1) * 10_000_000 + dispatch] = rec
    return digest(trace, counters, kernel_names) if (trace or counters) else None


def rocm_counters(run, workdir: Path, kernel_names: list[str]) -> tuple[str, dict]:
    """run(prefix, workdir) runs the candidate-replay worker under `prefix`; returns (text, data)."""
    profiler = find_profiler()
    if profiler is None:
        return "counters: rocprofv3 is not installed here (it comes with ROCm: /opt/rocm/bin/rocprofv3).", {}
    if not Path(profiler).name.startswith("rocprofv3"):
        return "counters: only the legacy rocprof is installed; counters on request need rocprofv3 (ROCm 6.2+).", {}
    shutil.rmtree(workdir, ignore_errors=True)
    dirs = []
    for i, group in enumerate(COUNTER_PASSES):
        d = workdir / f"pass{i}"
        d.mkdir(parents=True, exist_ok=True)
        run(profiler_command(profiler, d, "cand", counters=group), d)
        dirs.append(d)
    merged = merge_passes(dirs, "cand", kernel_names)
    if merged is None or not merged.kernels:
        return "counters: rocprofv3 recorded nothing for your kernels.", {}
    neutral = [from_amd(k) for k in merged.kernels if k.own] or [from_amd(k) for k in merged.kernels]
    data = {"vendor": "rocprofv3", "digest": merged.model_dump(), "counters": [c.model_dump() for c in neutral]}
    return "rocprofv3 counters:\n" + digest_text(merged), data
