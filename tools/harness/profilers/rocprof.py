"""rocprofv3 (ROCprofiler-SDK) support for the rocm platform: the command line, parsers for its CSV
output (and the legacy `rocprof --stats` file), and a digest per kernel for the model to read.

Files parsed, all by column name so that both header generations work:
- `<NAME>_kernel_trace.csv`: one row per dispatch. Current SDKs (22 columns) give Stream_Id and the
  register columns VGPR_Count/Accum_VGPR_Count/SGPR_Count with LDS_Block_Size/Scratch_Size; the Oct-2024
  SDK (18 columns) gives Private_Segment_Size (scratch) and Group_Segment_Size (LDS) and no registers.
- `<NAME>_kernel_stats.csv`: Name,Calls,TotalDurationNs,AverageNs,Percentage,MinNs,MaxNs,StdDev.
- `<NAME>_counter_collection.csv`: long form, one row per (dispatch, counter); pivoted on Dispatch_Id.
  19 columns now, 16 in the Oct-2024 SDK (no Accum_VGPR_Count, no timestamps).
- legacy `results.stats.csv` from `rocprof --stats`: Name,Calls,TotalDurationNs,AverageNs,Percentage,
  names carrying a ` [clone .kd]` suffix.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel, Field

from tools.harness.profilers.torch_profiler import kernel_base_name
from tools.harness.results import KernelRecord, ProfileInfo

# Counters worth asking for, grouped so that each group is one `--pmc` pass on gfx942/gfx950 by their
# definitions (derived counters can expand to several hardware counters: check with
# `rocprofv3-avail pmc-check` on the device before relying on a grouping).
COUNTER_PASSES: list[list[str]] = [
    ["FETCH_SIZE", "WRITE_SIZE"],
    ["TCC_HIT_sum", "TCC_MISS_sum"],
    ["SQ_LDS_BANK_CONFLICT", "SQ_LDS_IDX_ACTIVE"],
    ["OccupancyPercent"],
    ["VALUBusy", "VALUUtilization"],
    ["MfmaUtil"],
]

_KD_SUFFIXES = (" [clone .kd]", ".kd")


# --------------------------------------------------------------------------------------- commands

def find_profiler() -> str | None:
    """rocprofv3 if installed, else the legacy rocprof, else None (PATH, then /opt/rocm/bin)."""
    for name in ("rocprofv3", "rocprof"):
        path = shutil.which(name) or shutil.which(name, path="/opt/rocm/bin")
        if path:
            return path
    return None


def rocprofv3_command(out_dir: Path, name: str, counters: list[str] | None = None,
                      exe: str = "rocprofv3") -> list[str]:
    """The prefix to put before `python -m ...`. Files land in `out_dir/<name>_<domain>.csv`.

    CSV is asked for explicitly: from ROCm 7.0 the default output is a rocpd SQLite database."""
    cmd = [exe, "--kernel-trace", "--stats"]
    if counters:
        cmd += ["--pmc", ",".join(counters)]
    return cmd + ["-d", str(out_dir), "-o", name, "--output-format", "csv", "--"]


def legacy_rocprof_command(out_dir: Path, exe: str = "rocprof") -> list[str]:
    """`rocprof --stats`: writes out_dir/results.csv and out_dir/results.stats.csv."""
    return [exe, "--stats", "--basenames", "on", "-o", str(Path(out_dir) / "results.csv")]


def profiler_command(profiler: str, out_dir: Path, name: str, counters: list[str] | None = None) -> list[str]:
    """The right prefix for whichever profiler `find_profiler` returned."""
    if Path(profiler).name.startswith("rocprofv3"):
        return rocprofv3_command(out_dir, name, counters, exe=profiler)
    return legacy_rocprof_command(out_dir, exe=profiler)


def output_files(out_dir: Path, name: str) -> dict[str, Path]:
    """The CSV files a run left, by domain: kernel_trace, kernel_stats, counter_collection, agent_info,
    legacy_stats. Searched below out_dir too (pass_N/ folders, the %hostname%/%pid% default prefix)."""
    out_dir = Path(out_dir)
    found: dict[str, Path] = {}
    for domain in ("kernel_trace", "kernel_stats", "counter_collection", "agent_info"):
        hits = sorted(out_dir.rglob(f"{name}_{domain}.csv")) or sorted(out_dir.rglob(f"*_{domain}.csv"))
        if hits:
            found[domain] = hits[0]
    legacy = sorted(out_dir.rglob("results.stats.csv"))
    if legacy:
        found["legacy_stats"] = legacy[0]
    return found


# ---------------------------------------------------------------------------------------- parsers

def clean_kernel_name(name: str) -> str:
    name = name.strip()
    for suffix in _KD_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)].rstrip()
    return name


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.DictReader(f)
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def _int(row: dict[str, str], *names: str) -> int | None:
    for n in names:
        v = row.get(n)
        if v not in (None, ""):
            try:
                return int(float(v))
            except ValueError:
                return None
    return None


def _float(v: str | None) -> float | None:
    if v in (None, ""):
        return None
    try:
        return float(v)
    except ValueError:
        return None


def parse_kernel_trace(path: Path) -> list[dict]:
    """One dict per dispatch: name, dispatch_id, kernel_id, agent_id, queue_id, stream_id, start_ns,
    end_ns, duration_ns, lds_bytes, scratch_bytes, vgpr, agpr, sgpr (None when the SDK does not say),
    workgroup (x, y, z), grid (x, y, z) in work-items."""
    out = []
    for row in _rows(Path(path)):
        start, end = _int(row, "Start_Timestamp"), _int(row, "End_Timestamp")
        out.append({
            "name": clean_kernel_name(row.get("Kernel_Name", "")),
            "dispatch_id": _int(row, "Dispatch_Id"),
            "kernel_id": _int(row, "Kernel_Id"),
            "agent_id": _int(row, "Agent_Id"),
            "queue_id": _int(row, "Queue_Id"),
            "stream_id": _int(row, "Stream_Id"),
            "correlation_id": _int(row, "Correlation_Id"),
            "start_ns": start,
            "end_ns": end,
            "duration_ns": (end - start) if start is not None and end is not None else None,
            "lds_bytes": _int(row, "LDS_Block_Size", "Group_Segment_Size"),
            "scratch_bytes": _int(row, "Scratch_Size", "Private_Segment_Size"),
            "vgpr": _int(row, "VGPR_Count", "Arch_VGPR_Count"),
            "agpr": _int(row, "Accum_VGPR_Count"),
            "sgpr": _int(row, "SGPR_Count"),
            "workgroup": tuple(_int(row, f"Workgroup_Size_{a}") or 1 for a in "XYZ"),
            "grid": tuple(_int(row, f"Grid_Size_{a}") or 1 for a in "XYZ"),
        })
    return out


def parse_kernel_stats(path: Path) -> list[dict]:
    """rocprofv3 `*_kernel_stats.csv` or legacy `results.stats.csv`: name, calls, total_ns, average_ns,
    percentage (and min_ns, max_ns, stddev_ns where given), in file order (total time, descending)."""
    out = []
    for row in _rows(Path(path)):
        rec = {
            "name": clean_kernel_name(row.get("Name", "")),
            "calls": _int(row, "Calls") or 0,
            "total_ns": _float(row.get("TotalDurationNs")) or 0.0,
            "average_ns": _float(row.get("AverageNs")),
            "percentage": _float(row.get("Percentage")),
        }
        for key, col in (("min_ns", "MinNs"), ("max_ns", "MaxNs"), ("stddev_ns", "StdDev")):
            if col in row:
                rec[key] = _float(row.get(col))
        out.append(rec)
    return out


parse_legacy_stats = parse_kernel_stats


def parse_counter_collection(path: Path) -> dict[int, dict[str, float]]:
    """Pivot the long form: {dispatch_id: {counter: value}}. Repeated (dispatch, counter) rows (one per
    XCD/agent dimension in some versions) are summed. Dispatch metadata is kept under keys starting
    with '_': _name, _duration_ns (19-column files only), _vgpr, _agpr, _sgpr, _lds_bytes, _scratch_bytes."""
    out: dict[int, dict] = {}
    for row in _rows(Path(path)):
        did = _int(row, "Dispatch_Id")
        name = row.get("Counter_Name", "")
        value = _float(row.get("Counter_Value"))
        if did is None or not name or value is None:
            continue
        rec = out.setdefault(did, {})
        if "_name" not in rec:
            rec["_name"] = clean_kernel_name(row.get("Kernel_Name", ""))
            start, end = _int(row, "Start_Timestamp"), _int(row, "End_Timestamp")
            if start is not None and end is not None and end >= start:
                rec["_duration_ns"] = float(end - start)
            for key, cols in (("_vgpr", ("VGPR_Count", "Arch_VGPR_Count")), ("_agpr", ("Accum_VGPR_Count",)),
                              ("_sgpr", ("SGPR_Count",)), ("_lds_bytes", ("LDS_Block_Size",)),
                              ("_scratch_bytes", ("Scratch_Size",))):
                v = _int(row, *cols)
                if v is not None:
                    rec[key] = v
        rec[name] = rec.get(name, 0.0) + value
    return out


# ---------------------------------------------------------------------------------------- digest

class AmdKernelRecord(KernelRecord):
    """KernelRecord plus what rocprofv3 tells about an AMD kernel. Counters are aggregated over the
    kernel's profiled dispatches: sizes summed, percentages averaged (duration-weighted)."""

    vgpr: int | None = None
    agpr: int | None = Field(default=None, description="accumulation VGPRs (MFMA results)")
    sgpr: int | None = None
    lds_bytes: int | None = None
    scratch_bytes: int | None = Field(default=None, description="per work-item; > 0 usually means register spills")
    workgroup: tuple[int, int, int] | None = None
    grid: tuple[int, int, int] | None = None
    occupancy_pct: float | None = None
    valu_busy_pct: float | None = None
    valu_util_pct: float | None = Field(default=None, description="active lanes per VALU instruction; 100 = no divergence")
    mfma_util_pct: float | None = None
    lds_bank_conflict_pct: float | None = None
    hbm_bytes: float | None = None
    hbm_gbps: float | None = None
    l2_hit_pct: float | None = None
    counters: dict[str, float] = Field(default_factory=dict, description="raw counter values, summed over dispatches")


class RocprofDigest(BaseModel):
    source: str = "rocprofv3"
    kernels: list[AmdKernelRecord] = Field(default_factory=list)
    own_share: float = 0.0
    total_us: float = 0.0

    def to_profile_info(self, **fields) -> ProfileInfo:
        """A ProfileInfo holding these records (extra fields such as floor_ms passed through)."""
        return ProfileInfo(kernels=list(self.kernels), own_share=self.own_share, **fields)


_PCT_COUNTERS = {"OccupancyPercent": "occupancy_pct", "MeanOccupancyPerActiveCU": None,
                 "VALUBusy": "valu_busy_pct", "VALUUtilization": "valu_util_pct", "MfmaUtil": "mfma_util_pct",
                 "LDSBankConflict": "lds_bank_conflict_pct"}


def _is_own(name: str, own: set[str]) -> bool:
    return kernel_base_name(name) in own


def _aggregate_counters(dispatches: list[dict]) -> tuple[dict[str, float], dict[str, float], float]:
    """(summed raw counters, duration-weighted means of percentage counters, total ns with a known
    duration) over one kernel's dispatches."""
    sums: dict[str, float] = {}
    wsum: dict[str, float] = {}
    wtot: dict[str, float] = {}
    dur_total = 0.0
    for d in dispatches:
        w = d.get("_duration_ns") or 1.0
        dur_total += d.get("_duration_ns") or 0.0
        for k, v in d.items():
            if k.startswith("_"):
                continue
            sums[k] = sums.get(k, 0.0) + v
            if k in _PCT_COUNTERS:
                wsum[k] = wsum.get(k, 0.0) + v * w
                wtot[k] = wtot.get(k, 0.0) + w
    means = {k: wsum[k] / wtot[k] for k in wsum if wtot[k]}
    return sums, means, dur_total


def _derive(rec: AmdKernelRecord, sums: dict[str, float], means: dict[str, float], duration_ns: float) -> None:
    for counter, field in _PCT_COUNTERS.items():
        if field and counter in means:
            setattr(rec, field, means[counter])
    if rec.lds_bank_conflict_pct is None and sums.get("SQ_LDS_IDX_ACTIVE"):
        # Fraction of LDS-active cycles lost to bank conflicts.
        rec.lds_bank_conflict_pct = 100.0 * sums.get("SQ_LDS_BANK_CONFLICT", 0.0) / sums["SQ_LDS_IDX_ACTIVE"]
    if "FETCH_SIZE" in sums or "WRITE_SIZE" in sums:
        rec.hbm_bytes = (sums.get("FETCH_SIZE", 0.0) + sums.get("WRITE_SIZE", 0.0)) * 1024.0  # counters are KB
        if duration_ns > 0:
            rec.hbm_gbps = rec.hbm_bytes / duration_ns  # bytes/ns == GB/s
    hit, miss = sums.get("TCC_HIT_sum"), sums.get("TCC_MISS_sum")
    if hit is not None and miss is not None and hit + miss > 0:
        rec.l2_hit_pct = 100.0 * hit / (hit + miss)


def digest(trace_rows: list[dict], counters: dict[int, dict] | None = None,
           own_kernel_names: Iterable[str] = ()) -> RocprofDigest:
    """Per kernel name: calls, total µs, share of device time, own flag, registers/LDS/scratch, and the
    derived counters. `trace_rows` come from parse_kernel_trace (or parse_kernel_stats: rows with
    calls/total_ns instead of per-dispatch durations); `counters` from parse_counter_collection
    (matched to kernels by name, their dispatches may come from a separate run)."""
    own = set(own_kernel_names)
    by_name: dict[str, AmdKernelRecord] = {}
    for row in trace_rows:
        name = row["name"]
        rec = by_name.get(name)
        if rec is None:
            rec = by_name[name] = AmdKernelRecord(name=name, calls=0, total_us=0.0, own=_is_own(name, own))
        if "total_ns" in row:                      # a stats row
            rec.calls += int(row.get("calls") or 0)
            rec.total_us += float(row["total_ns"]) / 1e3
            continue
        rec.calls += 1
        rec.total_us += (row.get("duration_ns") or 0) / 1e3
        for field in ("vgpr", "agpr", "sgpr", "lds_bytes", "scratch_bytes"):
            v = row.get(field)
            if v is not None:
                setattr(rec, field, max(v, getattr(rec, field) or 0))
        if row.get("workgroup"):
            rec.workgroup = tuple(row["workgroup"])
        if row.get("grid"):
            rec.grid = tuple(row["grid"])

    per_kernel: dict[str, list[dict]] = {}
    for d in (counters or {}).values():
        per_kernel.setdefault(d.get("_name", ""), []).append(d)
    for name, dispatches in per_kernel.items():
        rec = by_name.get(name)
        if rec is None:  # counters for a kernel the trace did not see (separate run): still report it
            rec = by_name[name] = AmdKernelRecord(name=name, calls=len(dispatches), total_us=0.0, own=_is_own(name, own))
        for d in dispatches:
            for key, field in (("_vgpr", "vgpr"), ("_agpr", "agpr"), ("_sgpr", "sgpr"), ("_lds_bytes", "lds_bytes"),
                               ("_scratch_bytes", "scratch_bytes")):
                if key in d and getattr(rec, field) is None:
                    setattr(rec, field, int(d[key]))
        sums, means, dur = _aggregate_counters(dispatches)
        if dur <= 0 and rec.calls and rec.total_us:
            dur = rec.total_us * 1e3 / rec.calls * len(dispatches)   # mean traced duration per dispatch
        rec.counters = sums
        _derive(rec, sums, means, dur)

    total = sum(r.total_us for r in by_name.values())
    for r in by_name.values():
        r.share = r.total_us / total if total else 0.0
    kernels = sorted(by_name.values(), key=lambda r: -r.total_us)
    return RocprofDigest(kernels=kernels, own_share=sum(r.share for r in kernels if r.own), total_us=total)


def digest_run(out_dir: Path, name: str, own_kernel_names: Iterable[str] = ()) -> RocprofDigest | None:
    """Parse whatever a profiler run left in out_dir (rocprofv3 files, else legacy results.stats.csv)."""
    files = output_files(out_dir, name)
    counters = parse_counter_collection(files["counter_collection"]) if "counter_collection" in files else None
    if "kernel_trace" in files:
        return digest(parse_kernel_trace(files["kernel_trace"]), counters, own_kernel_names)
    if "kernel_stats" in files:
        return digest(parse_kernel_stats(files["kernel_stats"]), counters, own_kernel_names)
    if "legacy_stats" in files:
        d = digest(parse_kernel_stats(files["legacy_stats"]), None, own_kernel_names)
        return d.model_copy(update={"source": "rocprof"})
    if counters:
        return digest([], counters, own_kernel_names)
    return None


# ------------------------------------------------------------------------------------------ text

def _bytes(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def _short(name: str, limit: int = 70) -> str:
    return name if len(name) <= limit else name[: limit - 3] + "..."


def waves_per_simd_from_registers(vgpr: int | None, agpr: int | None) -> int | None:
    """Register-limited wavefronts per SIMD on CDNA2/3/4: 512 registers per lane shared by arch VGPRs
    (rounded up to 8, then to 4 before AGPRs start) and AGPRs; at most 8 waves."""
    if not vgpr:
        return None
    v = -(-vgpr // 8) * 8
    total = (-(-v // 4) * 4 + (agpr or 0)) if agpr else v
    return max(0, min(8, 512 // max(total, 1)))


def digest_text(d: RocprofDigest, limit: int = 8) -> str:
    """The short digest the model reads: one block per kernel, the candidate's own kernels marked."""
    if not d.kernels:
        return f"{d.source}: no GPU kernels were recorded."
    own_us = sum(k.total_us for k in d.kernels if k.own)
    lines = [f"{d.source}: {len(d.kernels)} kernel(s), {d.total_us:.1f} us of device time; "
             f"your kernels {100 * d.own_share:.1f}% ({own_us:.1f} us)."]
    for k in d.kernels[:limit]:
        tag = "own" if k.own else "lib"
        lines.append(f"- [{tag}] {_short(k.name)}: {k.calls} call(s), {k.total_us:.1f} us ({100 * k.share:.1f}%)")
        res = []
        if k.vgpr is not None or k.agpr is not None or k.sgpr is not None:
            res.append(f"VGPR {k.vgpr if k.vgpr is not None else '?'} / AGPR {k.agpr if k.agpr is not None else '?'} "
                       f"/ SGPR {k.sgpr if k.sgpr is not None else '?'}")
            waves = waves_per_simd_from_registers(k.vgpr, k.agpr)
            if waves is not None and waves < 8:
                res.append(f"registers allow {waves} wave(s)/SIMD")
        if k.lds_bytes is not None:
            res.append(f"LDS {k.lds_bytes} B")
        if k.scratch_bytes is not None:
            res.append(f"scratch {k.scratch_bytes} B" + (" (register spills?)" if k.scratch_bytes > 0 else ""))
        if k.workgroup:
            res.append("workgroup " + "x".join(str(v) for v in k.workgroup))
        if res:
            lines.append("    " + ", ".join(res))
        ctr = []
        if k.occupancy_pct is not None:
            ctr.append(f"occupancy {k.occupancy_pct:.0f}%")
        if k.valu_busy_pct is not None:
            ctr.append(f"VALU busy {k.valu_busy_pct:.0f}%")
        if k.valu_util_pct is not None:
            ctr.append(f"VALU lane use {k.valu_util_pct:.0f}%")
        if k.mfma_util_pct is not None:
            ctr.append(f"MFMA util {k.mfma_util_pct:.0f}%")
        if k.lds_bank_conflict_pct is not None:
            ctr.append(f"LDS bank conflicts {k.lds_bank_conflict_pct:.1f}%")
        if k.hbm_bytes is not None:
            ctr.append(f"HBM {_bytes(k.hbm_bytes)}" + (f" at {k.hbm_gbps:.0f} GB/s" if k.hbm_gbps else ""))
        if k.l2_hit_pct is not None:
            ctr.append(f"L2 hit {k.l2_hit_pct:.0f}%")
        if ctr:
            lines.append("    " + ", ".join(ctr))
    if len(d.kernels) > limit:
        rest = d.kernels[limit:]
        lines.append(f"- ... {len(rest)} more kernel(s), {sum(k.total_us for k in rest):.1f} us")
    return "\n".join(lines)
