"""One counter digest for both vendors, and the sentence that names the bottleneck. ncu's and
rocprofv3's per-kernel records are turned into the same KernelCounters; the diagnosis then reads only
those, the device's peaks and the problem's FLOPs over the timed median. A figure a vendor's run did
not report stays None and is said to be missing, never guessed."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.harness.device_peaks import Peaks

# ncu's Occupancy section: blocks per SM each resource allows; the smallest one limits occupancy.
NCU_LIMITS = {
    "launch__occupancy_limit_registers": "registers",
    "launch__occupancy_limit_shared_mem": "shared memory",
    "launch__occupancy_limit_warps": "block size (warps per block)",
    "launch__occupancy_limit_blocks": "blocks per SM",
}
AMD_WAVES_PER_SIMD = 8  # CDNA3/CDNA4: at most 8 waves per SIMD


class KernelCounters(BaseModel):
    """What the digest says about one of the candidate's kernels, from either vendor's profiler."""

    name: str
    launches: int = 1
    time_ms: float | None = Field(None, description="mean device time per launch")
    dram_bytes: float | None = Field(None, description="DRAM/HBM bytes read and written per launch")
    dram_gbps: float | None = None
    occupancy_pct: float | None = Field(None, description="achieved")
    occupancy_limit: str | None = Field(None, description="what limits occupancy, where the profiler says")
    registers: int | None = None
    spill_bytes: float | None = Field(None, description="local memory / scratch per thread or launch: spills")
    sectors_per_request: float | None = Field(
        None, description="32-byte sectors per warp-wide global load: 4 for coalesced 4-byte loads, 16 for 16-byte"
    )
    bank_conflicts: float | None = Field(None, description="shared memory / LDS bank conflicts (count or %)")
    l2_hit_pct: float | None = None


def from_ncu(name: str, launches: int, m: dict[str, float]) -> KernelCounters:
    """An ncu digest row (tools.harness.profilers.ncu.NcuKernel's name, launches, metrics)."""
    ns = m.get("gpu__time_duration.sum")
    dram = _sum(m, "dram__bytes_read.sum", "dram__bytes_write.sum")
    limits = {label: m[k] for k, label in NCU_LIMITS.items() if k in m}
    least = min(limits.values(), default=None)
    limit = " and ".join(label for label, v in limits.items() if v == least) if limits else None
    local = _sum(m, "l1tex__t_bytes_pipe_lsu_mem_local_op_ld.sum", "l1tex__t_bytes_pipe_lsu_mem_local_op_st.sum")
    sectors, requests = (
        m.get("l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum"),
        m.get("l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum"),
    )
    return KernelCounters(
        name=name,
        launches=launches,
        time_ms=ns / 1e6 if ns else None,
        dram_bytes=dram,
        dram_gbps=dram / ns if dram is not None and ns else None,  # bytes/ns == GB/s
        occupancy_pct=m.get("sm__warps_active.avg.pct_of_peak_sustained_active"),
        occupancy_limit=limit,
        registers=int(m["launch__registers_per_thread"]) if "launch__registers_per_thread" in m else None,
        spill_bytes=local,
        sectors_per_request=sectors / requests if sectors and requests else None,
        bank_conflicts=m.get("l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum"),
        l2_hit_pct=m.get("lts__t_sector_hit_rate.pct"),
    )


def from_amd(rec) -> KernelCounters:
    """A rocprofv3 digest record (tools.harness.profilers.rocprof_digest.AmdKernelRecord)."""
    from tools.harness.profilers.rocprof_digest import waves_per_simd_from_registers

    calls = max(rec.calls, 1)
    waves = waves_per_simd_from_registers(rec.vgpr, rec.agpr)
    limit = None
    if waves is not None and waves < AMD_WAVES_PER_SIMD:
        limit = f"registers ({rec.vgpr} VGPRs allow {waves} waves per SIMD)"
    elif rec.lds_bytes and rec.lds_bytes > 16 * 1024:
        limit = f"LDS ({rec.lds_bytes // 1024} KB per workgroup)"
    return KernelCounters(
        name=rec.name,
        launches=calls,
        time_ms=rec.total_us / calls / 1e3 if rec.total_us else None,
        dram_bytes=rec.hbm_bytes / calls if rec.hbm_bytes is not None else None,
        dram_gbps=rec.hbm_gbps,
        occupancy_pct=rec.occupancy_pct,
        occupancy_limit=limit,
        registers=rec.vgpr,
        spill_bytes=float(rec.scratch_bytes) if rec.scratch_bytes is not None else None,
        bank_conflicts=rec.lds_bank_conflict_pct,
        l2_hit_pct=rec.l2_hit_pct,
    )


def _sum(m: dict[str, float], *keys: str) -> float | None:
    found = [m[k] for k in keys if k in m]
    return sum(found) if found else None


class Bottleneck(BaseModel):
    """The candidate as a whole: achieved rates against the device's peaks, and one sentence."""

    dram_gbps: float | None = None
    dram_pct: float | None = None
    flops_per_s: float | None = None
    flop_pct: float | None = None
    sentence: str


def diagnose(
    kernels: list[KernelCounters], peaks: Peaks | None, flops: float | None, dtype: str, timed_ms: float | None
) -> Bottleneck:
    """Which resource limits the candidate, from its own kernels' counters. The byte rate is the
    kernels' DRAM traffic over their time; the FLOP rate is the problem's FLOPs over the timed median."""
    time_ms = sum(k.time_ms or 0.0 for k in kernels) or None
    known = [k.dram_bytes for k in kernels if k.dram_bytes is not None]
    dram = sum(known) if known else None
    gbps = dram / (time_ms * 1e6) if dram is not None and time_ms else None
    dram_pct = 100 * gbps * 1e9 / peaks.bytes_per_s if gbps is not None and peaks else None
    fps = flops / (timed_ms / 1e3) if flops and timed_ms else None
    flop_pct = 100 * fps / peaks.flops_for(dtype) if fps and peaks else None
    return Bottleneck(
        dram_gbps=gbps,
        dram_pct=dram_pct,
        flops_per_s=fps,
        flop_pct=flop_pct,
        sentence=_sentence(kernels, dram_pct, flop_pct),
    )


def _sentence(kernels: list[KernelCounters], dram_pct: float | None, flop_pct: float | None) -> str:
    worst = min((k for k in kernels if k.occupancy_pct is not None), key=lambda k: k.occupancy_pct, default=None)
    extras = []
    if any(k.spill_bytes for k in kernels):
        extras.append("registers spill to local memory: cut live values or raise the register budget")
    if any(k.bank_conflicts for k in kernels):
        extras.append("shared-memory/LDS bank conflicts: pad or swizzle the tile")
    if any(k.sectors_per_request is not None and k.sectors_per_request > 16 for k in kernels):
        # a warp of 16-byte loads needs 16 sectors at most: more means scattered addresses
        extras.append("global loads are not coalesced: make neighbouring threads read neighbouring addresses")
    if dram_pct is not None and dram_pct >= 60:
        head = f"memory-bound at {dram_pct:.0f}% of peak HBM bandwidth; next: " + (
            "only fewer bytes help (fuse passes, read each input once)"
            if dram_pct >= 85
            else "vectorise the loads (16 bytes per thread), keep more loads in flight, fuse passes"
        )
    elif flop_pct is not None and flop_pct >= 60:
        head = f"compute-bound at {flop_pct:.0f}% of peak FLOP/s; next: tensor cores / MFMA, more work per thread"
    elif worst is not None and worst.occupancy_pct < 35 and worst.occupancy_limit:
        head = (
            f"latency-bound: {worst.name} reaches {worst.occupancy_pct:.0f}% occupancy, limited by "
            f"{worst.occupancy_limit}; next: free that resource or give each thread more independent work"
        )
    else:
        busy = ", ".join(
            f"{what} {pct:.0f}% of peak"
            for what, pct in (("memory", dram_pct), ("compute", flop_pct))
            if pct is not None
        )
        head = (
            f"latency-bound: neither memory nor compute is busy ({busy or 'rates not measured'}); next: more "
            "parallelism per launch, fewer launches and syncs, vectorised loads"
        )
    return "; ".join([head, *extras]) + "."


def text(kernels: list[KernelCounters], b: Bottleneck) -> str:
    """The digest the model reads: one line per kernel with every figure (or 'not reported'), then the
    achieved rates and the sentence."""

    def show(v, fmt: str) -> str:
        return fmt.format(v) if v is not None else "not reported"

    lines = []
    for k in kernels:
        lines.append(
            f"- {k.name} x{k.launches}: {show(k.time_ms, '{:.4g} ms')}, DRAM {show(k.dram_gbps, '{:.0f} GB/s')}, "
            f"occupancy {show(k.occupancy_pct, '{:.0f}%')} (limit: {k.occupancy_limit or 'not reported'}), "
            f"registers {show(k.registers, '{}')}, spills {show(k.spill_bytes, '{:.0f} B')}, "
            f"sectors per load request {show(k.sectors_per_request, '{:.1f}')}, "
            f"bank conflicts {show(k.bank_conflicts, '{:.0f}')}, "
            f"L2 hit {show(k.l2_hit_pct, '{:.0f}%')}"
        )
    dram = (
        f"DRAM {b.dram_gbps:.0f} GB/s ({show(b.dram_pct, '{:.0f}%')} of peak)"
        if b.dram_gbps is not None
        else "DRAM not reported"
    )
    flops = (
        f"{b.flops_per_s / 1e12:.3g} TFLOP/s ({show(b.flop_pct, '{:.0f}%')} of peak)"
        if b.flops_per_s
        else "FLOP/s not measured (the problem counts no FLOPs, or it was not timed)"
    )
    rates = f"achieved: {dram}, {flops}"
    return "\n".join([*lines, rates, f"bottleneck: {b.sentence}"])
