"""rocprofv3 (ROCprofiler-SDK) support for the rocm platform: the command line and parsers for its CSV
output (and the legacy `rocprof --stats` file). The per-kernel digest built from them is in rocprof_digest.

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


def rocprofv3_command(out_dir: Path, name: str, counters: list[str] | None = None, exe: str = "rocprofv3") -> list[str]:
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
        out.append(
            {
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
            }
        )
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
            for key, cols in (
                ("_vgpr", ("VGPR_Count", "Arch_VGPR_Count")),
                ("_agpr", ("Accum_VGPR_Count",)),
                ("_sgpr", ("SGPR_Count",)),
                ("_lds_bytes", ("LDS_Block_Size",)),
                ("_scratch_bytes", ("Scratch_Size",)),
            ):
                v = _int(row, *cols)
                if v is not None:
                    rec[key] = v
        rec[name] = rec.get(name, 0.0) + value
    return out
