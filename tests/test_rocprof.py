"""rocprofv3 / rocprof parsers, digest and command line, on recorded files in tests/data/rocprof."""

from pathlib import Path

import pytest

from tools.harness.profilers import rocprof, rocprof_digest
from tools.harness.results import KernelRecord, ProfileInfo

DATA = Path(__file__).parent / "data" / "rocprof"
SOFTMAX = "row_softmax_kernel(float const*, float*, long)"
GEMM = "void gemm_tile_kernel<128, 128>(__hip_bfloat16 const*, __hip_bfloat16 const*, float*, int, int, int)"


def test_command_builder(tmp_path):
    cmd = rocprof.rocprofv3_command(tmp_path, "cand", None)
    assert cmd == [
        "rocprofv3",
        "--kernel-trace",
        "--stats",
        "-d",
        str(tmp_path),
        "-o",
        "cand",
        "--output-format",
        "csv",
        "--",
    ]
    with_pmc = rocprof.rocprofv3_command(tmp_path, "cand", ["SQ_WAVES", "FETCH_SIZE"])
    assert with_pmc[with_pmc.index("--pmc") + 1] == "SQ_WAVES,FETCH_SIZE"
    assert with_pmc[-1] == "--" and "--kernel-trace" in with_pmc
    assert rocprof.profiler_command("/opt/rocm/bin/rocprofv3", tmp_path, "n")[0] == "/opt/rocm/bin/rocprofv3"
    legacy = rocprof.profiler_command("/opt/rocm/bin/rocprof", tmp_path, "n")
    assert legacy[:2] == ["/opt/rocm/bin/rocprof", "--stats"] and legacy[-1].endswith("results.csv")


def test_find_profiler(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(
        rocprof.shutil,
        "which",
        lambda name, path=None: str(tmp_path / name) if name == "rocprof" and path is None else None,
    )
    assert rocprof.find_profiler() == str(tmp_path / "rocprof")
    monkeypatch.setattr(rocprof.shutil, "which", lambda name, path=None: None)
    assert rocprof.find_profiler() is None
    monkeypatch.setattr(rocprof.shutil, "which", lambda name, path=None: f"/x/{name}")
    assert rocprof.find_profiler() == "/x/rocprofv3"


def test_kernel_trace_current_header():
    rows = rocprof.parse_kernel_trace(DATA / "v3_kernel_trace.csv")
    assert len(rows) == 4
    soft = rows[1]
    assert soft["name"] == SOFTMAX and soft["dispatch_id"] == 2 and soft["stream_id"] == 0
    assert soft["duration_ns"] == 20000 and soft["lds_bytes"] == 32 and soft["scratch_bytes"] == 0
    assert (soft["vgpr"], soft["agpr"], soft["sgpr"]) == (40, 0, 32)
    assert soft["workgroup"] == (256, 1, 1) and soft["grid"] == (524288, 1, 1)
    gemm = rows[3]
    assert gemm["lds_bytes"] == 65536 and gemm["scratch_bytes"] == 16 and gemm["agpr"] == 128


def test_kernel_trace_oct_2024_header():
    rows = rocprof.parse_kernel_trace(DATA / "v3old_kernel_trace.csv")
    assert len(rows) == 3
    r = rows[0]
    assert r["name"] == "relu_bf16_vec8(uint4 const*, uint4*, long)" and r["duration_ns"] == 2000
    assert r["stream_id"] is None and r["vgpr"] is None and r["agpr"] is None and r["sgpr"] is None
    assert r["lds_bytes"] == 0 and r["scratch_bytes"] == 0  # Group_/Private_Segment_Size
    assert rows[2]["name"] == "__amd_rocclr_fillBufferAligned"  # .kd stripped


def test_kernel_stats():
    rows = rocprof.parse_kernel_stats(DATA / "v3_kernel_stats.csv")
    assert [r["name"] for r in rows] == [GEMM, SOFTMAX, rows[2]["name"]]
    assert rows[1]["calls"] == 2 and rows[1]["total_ns"] == 40000 and rows[1]["max_ns"] == 20000
    assert rows[0]["percentage"] == pytest.approx(69.44)


def test_legacy_stats_strips_clone_suffix():
    rows = rocprof.parse_legacy_stats(DATA / "results.stats.csv")
    assert rows[0]["name"] == SOFTMAX and rows[0]["calls"] == 10 and rows[0]["total_ns"] == 200000
    assert rows[1]["name"] == "__amd_rocclr_fillBufferAligned"
    assert "min_ns" not in rows[0]


def test_counter_collection_pivot_19_columns():
    ctr = rocprof.parse_counter_collection(DATA / "v3_counter_collection.csv")
    assert sorted(ctr) == [2, 3, 4]
    assert ctr[2]["FETCH_SIZE"] == 2048.0 and ctr[2]["OccupancyPercent"] == 60.0
    assert ctr[2]["_name"] == SOFTMAX and ctr[2]["_duration_ns"] == 20000
    assert ctr[4]["_agpr"] == 128 and ctr[4]["SQ_LDS_BANK_CONFLICT"] == 250


def test_counter_collection_pivot_16_columns():
    ctr = rocprof.parse_counter_collection(DATA / "v3old_counter_collection.csv")
    assert sorted(ctr) == [2, 3]
    assert "_duration_ns" not in ctr[2] and "_agpr" not in ctr[2] and ctr[2]["_vgpr"] == 40
    assert ctr[3]["TCC_MISS_sum"] == 3000


def test_digest_trace_and_counters():
    trace = rocprof.parse_kernel_trace(DATA / "v3_kernel_trace.csv")
    ctr = rocprof.parse_counter_collection(DATA / "v3_counter_collection.csv")
    d = rocprof_digest.digest(trace, ctr, ["row_softmax_kernel", "gemm_tile_kernel"])
    assert [k.name for k in d.kernels][:2] == [GEMM, SOFTMAX]
    assert d.total_us == pytest.approx(144.0)
    gemm, soft, fill = d.kernels
    assert gemm.own and soft.own and not fill.own
    assert d.own_share == pytest.approx(140 / 144)
    assert soft.calls == 2 and soft.total_us == pytest.approx(40.0) and soft.share == pytest.approx(40 / 144)
    assert (gemm.vgpr, gemm.agpr, gemm.sgpr, gemm.lds_bytes, gemm.scratch_bytes) == (128, 128, 96, 65536, 16)
    # derived counters
    assert soft.occupancy_pct == pytest.approx(70.0) and soft.valu_busy_pct == pytest.approx(25.0)
    assert soft.hbm_bytes == pytest.approx(4 * 2048 * 1024)
    assert soft.hbm_gbps == pytest.approx(4 * 2048 * 1024 / 40000)
    assert soft.l2_hit_pct == pytest.approx(25.0)
    assert gemm.l2_hit_pct == pytest.approx(90.0) and gemm.mfma_util_pct == pytest.approx(45.5)
    assert gemm.lds_bank_conflict_pct == pytest.approx(25.0)
    assert gemm.hbm_gbps == pytest.approx(10240 * 1024 / 100000)
    assert fill.hbm_bytes is None and fill.counters == {}
    # usable where a ProfileInfo is expected
    info = d.to_profile_info(floor_ms=0.1)
    assert isinstance(info, ProfileInfo) and isinstance(info.kernels[0], KernelRecord)
    assert info.own_share == pytest.approx(d.own_share) and info.floor_ms == 0.1


def test_digest_counters_without_timestamps_use_trace_durations():
    trace = rocprof.parse_kernel_trace(DATA / "v3_kernel_trace.csv")
    ctr = rocprof.parse_counter_collection(DATA / "v3old_counter_collection.csv")
    soft = next(k for k in rocprof_digest.digest(trace, ctr, []).kernels if k.name == SOFTMAX)
    assert soft.hbm_gbps == pytest.approx(4 * 2048 * 1024 / 40000) and not soft.own


def test_digest_from_stats_rows():
    d = rocprof_digest.digest(rocprof.parse_legacy_stats(DATA / "results.stats.csv"), None, ["row_softmax_kernel"])
    assert d.kernels[0].calls == 10 and d.kernels[0].total_us == pytest.approx(200.0)
    assert d.own_share == pytest.approx(0.8)


def test_digest_run_finds_files(tmp_path):
    import shutil

    sub = tmp_path / "out" / "pass_1"
    sub.mkdir(parents=True)
    shutil.copy(DATA / "v3_kernel_trace.csv", sub / "cand_kernel_trace.csv")
    shutil.copy(DATA / "v3_counter_collection.csv", sub / "cand_counter_collection.csv")
    d = rocprof_digest.digest_run(tmp_path / "out", "cand", ["row_softmax_kernel"])
    assert d is not None and d.source == "rocprofv3" and len(d.kernels) == 3
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    shutil.copy(DATA / "results.stats.csv", legacy / "results.stats.csv")
    d2 = rocprof_digest.digest_run(legacy, "cand", [])
    assert d2.source == "rocprof" and d2.kernels[0].calls == 10
    assert rocprof_digest.digest_run(tmp_path / "nothing", "cand") is None


def test_digest_text():
    trace = rocprof.parse_kernel_trace(DATA / "v3_kernel_trace.csv")
    ctr = rocprof.parse_counter_collection(DATA / "v3_counter_collection.csv")
    text = rocprof_digest.digest_text(rocprof_digest.digest(trace, ctr, ["row_softmax_kernel", "gemm_tile_kernel"]))
    assert text.startswith("rocprofv3: 3 kernel(s)")
    assert "[own] void gemm_tile_kernel" in text and "[lib] void at::native" in text
    assert "VGPR 128 / AGPR 128 / SGPR 96" in text and "registers allow 2 wave(s)/SIMD" in text
    assert "LDS 65536 B" in text and "scratch 16 B (register spills?)" in text
    assert "MFMA util 46%" in text and "L2 hit 90%" in text and "LDS bank conflicts 25.0%" in text
    assert "occupancy 70%" in text and "HBM 8.4 MB at 210 GB/s" in text
    assert len(text) < 2000
    assert "no GPU kernels" in rocprof_digest.digest_text(rocprof_digest.RocprofDigest())


def test_register_limited_waves():
    assert rocprof_digest.waves_per_simd_from_registers(40, 0) == 8
    assert rocprof_digest.waves_per_simd_from_registers(128, 0) == 4
    assert rocprof_digest.waves_per_simd_from_registers(128, 128) == 2
    assert rocprof_digest.waves_per_simd_from_registers(None, None) is None
