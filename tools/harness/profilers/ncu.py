"""NVIDIA Nsight Compute (ncu) for the counters a model asks for: the command that wraps a worker, the
raw CSV it writes, and a short digest per kernel. Only the metrics the digest reads are asked for, by
name, on the first launch of each of the candidate's kernels: on an H200 (ncu 2025.3) that held the lane
1.5-1.8 s per counters pass, against 3.1-3.9 s for five sections over three launches. A name an ncu
version does not know is skipped by ncu with the rest still collected (seen there), and the digest shows
what came back."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

from pydantic import BaseModel, Field

from tools.harness.profilers.bottleneck import from_ncu

# column -> (label, kind): what ncu is asked for and the digest shows, when ncu reported it
METRICS: dict[str, tuple[str, str]] = {
    "gpu__time_duration.sum": ("time", "ns"),
    "sm__throughput.avg.pct_of_peak_sustained_elapsed": ("SM throughput", "pct"),
    "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed": ("memory throughput", "pct"),
    "dram__throughput.avg.pct_of_peak_sustained_elapsed": ("DRAM throughput", "pct"),
    "dram__bytes_read.sum": ("DRAM read", "bytes"),
    "dram__bytes_write.sum": ("DRAM written", "bytes"),
    "lts__t_sector_hit_rate.pct": ("L2 hit rate", "pct"),
    "sm__warps_active.avg.pct_of_peak_sustained_active": ("achieved occupancy", "pct"),
    "sm__maximum_warps_per_active_cycle_pct": ("theoretical occupancy", "pct"),
    "launch__registers_per_thread": ("registers/thread", "count"),
    "launch__shared_mem_per_block_static": ("static shared/block", "bytes"),
    "launch__shared_mem_per_block_dynamic": ("dynamic shared/block", "bytes"),
    "launch__block_size": ("block", "count"),
    "launch__grid_size": ("grid", "count"),
    "l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum": ("shared bank conflicts", "count"),
    "sm__inst_executed_pipe_tensor.avg.pct_of_peak_sustained_active": ("tensor pipe", "pct"),
    # read by the shared digest (tools.harness.profilers.bottleneck) where ncu's sections report them
    "launch__occupancy_limit_registers": ("block limit by registers", "count"),
    "launch__occupancy_limit_shared_mem": ("block limit by shared memory", "count"),
    "launch__occupancy_limit_warps": ("block limit by warps", "count"),
    "launch__occupancy_limit_blocks": ("block limit by blocks", "count"),
    "l1tex__t_bytes_pipe_lsu_mem_local_op_ld.sum": ("local memory read", "bytes"),
    "l1tex__t_bytes_pipe_lsu_mem_local_op_st.sum": ("local memory written", "bytes"),
    "l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum": ("global load sectors", "count"),
    "l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum": ("global load requests", "count"),
}


def find_ncu() -> str | None:
    """ncu on PATH, else under CUDA_HOME or /usr/local/cuda."""
    found = shutil.which("ncu")
    if found:
        return found
    for root in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if root and os.access(Path(root) / "bin" / "ncu", os.X_OK):
            return str(Path(root) / "bin" / "ncu")
    return None


def ncu_command(exe: str, log_file: Path, kernel_names: list[str]) -> list[str]:
    """The prefix to put before `python -m tools.harness.worker`: profile the first launch of each of the
    candidate's own kernels (by name; the first launch of any kernel where none is named) in the worker
    and its children, base units, raw CSV."""
    cmd = [exe, "--csv", "--page", "raw", "--print-units", "base", "--target-processes", "all"]
    cmd += ["--log-file", str(log_file), "--metrics", ",".join(METRICS)]
    if kernel_names:
        # context:stream:name:invocation, the invocation counted per kernel name
        cmd += ["--kernel-id", "::regex:^(" + "|".join(kernel_names) + ")$:1"]
    else:
        cmd += ["--launch-count", "1"]
    return cmd


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.replace(",", "").strip())
    except ValueError:
        return None


def parse_raw_csv(text: str) -> list[dict[str, str]]:
    """ncu's `--page raw --csv` output: a header row, a units row, then one row per profiled launch.
    Lines ncu prints about itself start with '=='."""
    body = "\n".join(line for line in text.lstrip("\ufeff").splitlines() if line.strip() and not line.startswith("=="))
    rows = [{k.strip(): v for k, v in r.items() if k} for r in csv.DictReader(io.StringIO(body))]
    # the units row names no kernel; a launch row always does
    return [r for r in rows if (r.get("Kernel Name") or r.get("Function Name") or "").strip()]


class NcuKernel(BaseModel):
    name: str
    launches: int
    metrics: dict[str, float] = Field(default_factory=dict, description="mean over launches, base units")


def digest(rows: list[dict[str, str]]) -> list[NcuKernel]:
    """Per kernel (ncu's short name), the mean of each known metric over its launches."""
    by_name: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        name = (r.get("Kernel Name") or r.get("Function Name") or "?").split("(")[0].strip()
        by_name.setdefault(name, []).append(r)
    out = []
    for name, launches in by_name.items():
        metrics = {}
        for column in METRICS:
            values = [v for v in (_number(r.get(column)) for r in launches) if v is not None]
            if values:
                metrics[column] = sum(values) / len(values)
        out.append(NcuKernel(name=name, launches=len(launches), metrics=metrics))
    return out


def _show(value: float, kind: str) -> str:
    if kind == "pct":
        return f"{value:.1f}%"
    if kind == "ns":
        return f"{value / 1e6:.4g} ms"
    if kind == "bytes":
        for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
            if value >= scale:
                return f"{value / scale:.3g} {unit}"
        return f"{value:.0f} B"
    return f"{value:.0f}"


def digest_text(kernels: list[NcuKernel]) -> str:
    if not kernels:
        return "ncu profiled none of your kernels (were they launched?)"
    lines = []
    for k in kernels:
        parts = [f"{METRICS[c][0]} {_show(v, METRICS[c][1])}" for c, v in k.metrics.items()]
        lines.append(f"{k.name} ({k.launches} launch{'es' if k.launches != 1 else ''}): " + ", ".join(parts))
    return "\n".join(lines)


def _why_empty(log_tail: str) -> str:
    low = log_tail.lower()
    if "err_nvgpuctrperm" in low or "permission to access nvidia gpu performance counters" in low:
        return "this machine does not let users read GPU performance counters (ERR_NVGPUCTRPERM)"
    if "no kernels were profiled" in low:
        return "none of your kernels matched by name were launched"
    lines = [ln for ln in log_tail.splitlines() if ln.startswith("==ERROR==") or ln.startswith("==WARNING==")]
    if lines:
        return lines[-1][:200]
    last = [ln.strip() for ln in log_tail.splitlines() if ln.strip()]
    return "no kernel rows in its output" + (f"; the run's last words: {last[-1][:200]}" if last else "")


def cuda_counters(run, workdir: Path, kernel_names: list[str]) -> tuple[str, dict]:
    """run(prefix, workdir) runs the candidate-replay worker under `prefix`; returns (text, data)."""
    exe = find_ncu()
    if exe is None:
        return (
            "counters: ncu (Nsight Compute) is not installed here; install it or point CUDA_HOME at a "
            "toolkit that has it.",
            {},
        )
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "ncu.csv"
    out = run(ncu_command(exe, log, kernel_names), workdir)
    rows = parse_raw_csv(log.read_text()) if log.exists() else []
    if not rows:
        ncu_log = log.read_text() if log.exists() else "(ncu wrote no log file)"
        return (
            f"counters: ncu recorded nothing: {_why_empty(out.log_tail + chr(10) + ncu_log)}.",
            {"vendor": "ncu", "kernels": [], "worker_log_tail": out.log_tail[-1500:], "ncu_log_head": ncu_log[:1500]},
        )
    kernels = digest(rows)
    neutral = [from_ncu(k.name, k.launches, k.metrics) for k in kernels]
    return (
        "ncu counters for your kernels (the first launch of each; the profiler serialises and replays "
        "it, so its times run a little high):\n" + digest_text(kernels),
        {"vendor": "ncu", "kernels": [k.model_dump() for k in kernels], "counters": [c.model_dump() for c in neutral]},
    )
