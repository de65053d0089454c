"""The digest per kernel of a rocprofv3 (or legacy rocprof) run, for the model to read: calls, time and
share of device time, registers/LDS/scratch, and counters aggregated over dispatches and turned into
occupancy, VALU/MFMA use, LDS bank conflicts, HBM traffic and L2 hit rate; then the short text. The
command line and the CSV parsers are in rocprof."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from tools.harness.profilers.rocprof import (
    output_files,
    parse_counter_collection,
    parse_kernel_stats,
    parse_kernel_trace,
)
from tools.harness.profilers.torch_profiler import kernel_base_name
from tools.harness.results import KernelRecord, ProfileInfo


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
    valu_util_pct: float | None = Field(
        default=None, description="active lanes per VALU instruction; 100 = no divergence"
    )
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


_PCT_COUNTERS = {
    "OccupancyPercent": "occupancy_pct",
    "MeanOccupancyPerActiveCU": None,
    "VALUBusy": "valu_busy_pct",
    "VALUUtilization": "valu_util_pct",
    "MfmaUtil": "mfma_util_pct",
    "LDSBankConflict": "lds_bank_conflict_pct",
}


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


def digest(
    trace_rows: list[dict], counters: dict[int, dict] | None = None, own_kernel_names: Iterable[str] = ()
) -> RocprofDigest:
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
        if "total_ns" in row:  # a stats row
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
            rec = by_name[name] = AmdKernelRecord(
                name=name, calls=len(dispatches), total_us=0.0, own=_is_own(name, own)
            )
        for d in dispatches:
            for key, field in (
                ("_vgpr", "vgpr"),
                ("_agpr", "agpr"),
                ("_sgpr", "sgpr"),
                ("_lds_bytes", "lds_bytes"),
                ("_scratch_bytes", "scratch_bytes"),
            ):
                if key in d and getattr(rec, field) is None:
                    setattr(rec, field, int(d[key]))
        sums, means, dur = _aggregate_counters(dispatches)
        if dur <= 0 and rec.calls and rec.total_us:
            dur = rec.total_us * 1e3 / rec.calls * len(dispatches)  # mean traced duration per dispatch
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
    lines = [
        f"{d.source}: {len(d.kernels)} kernel(s), {d.total_us:.1f} us of device time; "
        f"your kernels {100 * d.own_share:.1f}% ({own_us:.1f} us)."
    ]
    for k in d.kernels[:limit]:
        tag = "own" if k.own else "lib"
        lines.append(f"- [{tag}] {_short(k.name)}: {k.calls} call(s), {k.total_us:.1f} us ({100 * k.share:.1f}%)")
        res = []
        if k.vgpr is not None or k.agpr is not None or k.sgpr is not None:
            res.append(
                f"VGPR {k.vgpr if k.vgpr is not None else '?'} / AGPR {k.agpr if k.agpr is not None else '?'} "
                f"/ SGPR {k.sgpr if k.sgpr is not None else '?'}"
            )
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
