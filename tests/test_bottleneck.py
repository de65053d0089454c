"""The counter digest both vendors share (tools.harness.profilers.bottleneck): ncu's and rocprofv3's
records become the same figures, a figure the profiler did not give is said to be missing, and the
sentence names what limits the kernel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.harness.device_peaks import peaks_for
from tools.harness.profilers import bottleneck, ncu
from tools.harness.profilers.bottleneck import KernelCounters, diagnose
from tools.harness.profilers.rocm_counters import merge_passes

DATA = Path(__file__).parent / "data"
H100 = peaks_for("NVIDIA H100 80GB HBM3")


def _ncu_counters() -> dict[str, KernelCounters]:
    rows = ncu.parse_raw_csv((DATA / "ncu" / "raw_page.csv").read_text())
    return {k.name: bottleneck.from_ncu(k.name, k.launches, k.metrics) for k in ncu.digest(rows)}


def test_ncu_rows_become_the_shared_figures():
    relu = _ncu_counters()["relu_kernel"]
    assert relu.launches == 2 and relu.time_ms == pytest.approx(0.753216)
    assert relu.dram_bytes == pytest.approx(2 * 1073741824.0)
    assert relu.dram_gbps == pytest.approx(2 * 1073741824.0 / 753216.0)  # 2851 GB/s
    assert (
        relu.occupancy_pct == pytest.approx(85.76) and relu.registers == 16 and relu.l2_hit_pct == pytest.approx(50.0)
    )
    # the sections in that file report no occupancy limits, local memory or sectors: said, not guessed
    assert relu.occupancy_limit is None and relu.spill_bytes is None and relu.sectors_per_request is None


def test_the_smallest_block_limit_names_what_limits_occupancy():
    m = {
        "launch__occupancy_limit_registers": 2.0,
        "launch__occupancy_limit_shared_mem": 8.0,
        "launch__occupancy_limit_warps": 4.0,
        "l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum": 32000.0,
        "l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum": 1000.0,
        "l1tex__t_bytes_pipe_lsu_mem_local_op_st.sum": 512.0,
    }
    k = bottleneck.from_ncu("gemm", 1, m)
    assert k.occupancy_limit == "registers" and k.sectors_per_request == 32.0 and k.spill_bytes == 512.0
    b = diagnose([k], H100, None, "float32", None)
    assert "global loads are not coalesced" in b.sentence and "registers spill" in b.sentence
    tie = bottleneck.from_ncu(
        "relu", 1, {"launch__occupancy_limit_registers": 8.0, "launch__occupancy_limit_warps": 8.0}
    )
    assert tie.occupancy_limit == "registers and block size (warps per block)"


def test_a_kernel_near_the_bandwidth_roof_is_memory_bound():
    relu = _ncu_counters()["relu_kernel"]
    b = diagnose([relu], H100, flops=2.7e8, dtype="float32", timed_ms=0.75)
    assert b.dram_pct == pytest.approx(100 * relu.dram_gbps * 1e9 / 3.35e12)  # 85%
    assert b.sentence.startswith("memory-bound at 85% of peak HBM bandwidth; next: only fewer bytes help")
    text = bottleneck.text([relu], b)
    assert "- relu_kernel x2: 0.7532 ms, DRAM 2851 GB/s, occupancy 86% (limit: not reported)" in text
    assert "spills not reported" in text and text.endswith(b.sentence)


def test_low_occupancy_with_a_known_limit_is_latency_bound_and_spills_are_named():
    k = KernelCounters(
        name="tile_kernel", time_ms=1.0, dram_bytes=1e8, occupancy_pct=12.0, occupancy_limit="registers", spill_bytes=64
    )
    b = diagnose([k], H100, flops=1e9, dtype="float32", timed_ms=1.0)
    assert b.sentence.startswith("latency-bound: tile_kernel reaches 12% occupancy, limited by registers")
    assert "registers spill to local memory" in b.sentence


def test_compute_bound_from_the_problems_flops():
    k = KernelCounters(name="mm", time_ms=1.0, dram_bytes=1e6, occupancy_pct=50.0)
    b = diagnose([k], H100, flops=0.4e12, dtype="float32", timed_ms=1.0)  # 400 TFLOP/s of 494.7
    assert b.flop_pct == pytest.approx(80.9, abs=0.1) and b.sentence.startswith("compute-bound at 81%")


def test_without_peaks_or_timing_the_rates_are_not_measured():
    b = diagnose([KernelCounters(name="k")], None, None, "float32", None)
    assert b.dram_gbps is None and b.dram_pct is None and b.flop_pct is None and "rates not measured" in b.sentence
    assert "achieved: DRAM not reported, FLOP/s not measured" in bottleneck.text([KernelCounters(name="k")], b)


def test_rocprofv3_records_become_the_same_figures(tmp_path):
    d = tmp_path / "pass0"
    d.mkdir()
    shutil.copy(DATA / "rocprof" / "v3_kernel_trace.csv", d / "cand_kernel_trace.csv")
    shutil.copy(DATA / "rocprof" / "v3_counter_collection.csv", d / "cand_counter_collection.csv")
    merged = merge_passes([d], "cand", ["row_softmax_kernel"])
    rec = next(k for k in merged.kernels if k.own)
    k = bottleneck.from_amd(rec)
    assert k.name == rec.name and k.launches == rec.calls and k.registers == rec.vgpr
    assert k.dram_gbps == rec.hbm_gbps and k.occupancy_pct == rec.occupancy_pct
    assert k.time_ms == pytest.approx(rec.total_us / rec.calls / 1e3)
    b = diagnose([k], peaks_for("AMD Instinct MI300X"), None, "float32", None)
    assert b.sentence.endswith(".") and bottleneck.text([k], b).startswith(f"- {rec.name} x{rec.calls}:")
