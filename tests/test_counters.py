"""Hardware counters on request (profile_kernel counters=true): the ncu command and its raw CSV, the
rocprofv3 passes merged, and what the cpu platform answers, through the real tool and evaluator."""

import shutil
from pathlib import Path

import pytest

from tools.harness.profilers import ncu
from tools.harness.profilers.rocm_counters import merge_passes

DATA = Path(__file__).parent / "data"


def test_ncu_command_asks_for_the_digests_metrics_on_each_own_kernels_first_launch(tmp_path):
    cmd = ncu.ncu_command("/usr/local/cuda/bin/ncu", tmp_path / "n.csv", ["relu_kernel", "tail_kernel"])
    assert cmd[0].endswith("ncu") and cmd[cmd.index("--page") + 1] == "raw"
    assert cmd[cmd.index("--print-units") + 1] == "base"
    assert cmd[cmd.index("--kernel-id") + 1] == "::regex:^(relu_kernel|tail_kernel)$:1"
    assert "--section" not in cmd and "--launch-count" not in cmd and "-k" not in cmd
    asked = cmd[cmd.index("--metrics") + 1].split(",")
    assert asked == list(ncu.METRICS)
    # every counter the shared digest reads is asked for
    for name in ("dram__bytes_read.sum", "launch__occupancy_limit_registers", "lts__t_sector_hit_rate.pct"):
        assert name in asked
    assert cmd[cmd.index("--log-file") + 1] == str(tmp_path / "n.csv")
    anonymous = ncu.ncu_command("ncu", tmp_path / "n.csv", [])
    assert anonymous[anonymous.index("--launch-count") + 1] == "1" and "--kernel-id" not in anonymous


def test_ncu_raw_page_digest():
    rows = ncu.parse_raw_csv((DATA / "ncu" / "raw_page.csv").read_text())
    assert [r["ID"] for r in rows] == ["0", "1", "2"]  # the units row and ncu's own lines are dropped
    kernels = {k.name: k for k in ncu.digest(rows)}
    relu = kernels["relu_kernel"]
    assert relu.launches == 2
    assert relu.metrics["gpu__time_duration.sum"] == pytest.approx(753216.0)
    assert relu.metrics["dram__bytes_read.sum"] == pytest.approx(1073741824.0)
    assert relu.metrics["sm__warps_active.avg.pct_of_peak_sustained_active"] == pytest.approx(85.76)
    assert "some__metric_we_do_not_show.sum" not in relu.metrics
    text = ncu.digest_text(ncu.digest(rows))
    first, second = text.splitlines()
    assert first.startswith("relu_kernel (2 launches): time 0.7532 ms")
    assert "DRAM read 1.07 GB" in first and "achieved occupancy 85.8%" in first and "L2 hit rate 50.0%" in first
    assert second.startswith("row_sum_kernel (1 launch)") and "static shared/block 4.1 KB" in second
    assert ncu.digest_text([]).startswith("ncu profiled none")
    # a byte-order mark before the header, as some writers put there, changes nothing
    assert len(ncu.parse_raw_csv("\ufeff" + (DATA / "ncu" / "raw_page.csv").read_text())) == 3


def test_ncu_empty_output_says_why():
    assert "ERR_NVGPUCTRPERM" in ncu._why_empty("==ERROR== ERR_NVGPUCTRPERM - The user does not have permission")
    assert "none of your kernels" in ncu._why_empty("==WARNING== No kernels were profiled.")


def test_rocprofv3_passes_merge_counters_from_each_run(tmp_path):
    first, second = tmp_path / "pass0", tmp_path / "pass1"
    first.mkdir()
    second.mkdir()
    shutil.copy(DATA / "rocprof" / "v3_kernel_trace.csv", first / "cand_kernel_trace.csv")
    shutil.copy(DATA / "rocprof" / "v3_counter_collection.csv", first / "cand_counter_collection.csv")
    # the second pass counted other things (its own run, its own dispatch ids)
    other = (DATA / "rocprof" / "v3_counter_collection.csv").read_text()
    other = other.replace('"FETCH_SIZE"', '"SQ_LDS_BANK_CONFLICT"').replace('"WRITE_SIZE"', '"SQ_LDS_IDX_ACTIVE"')
    (second / "cand_counter_collection.csv").write_text(other)
    merged = merge_passes([first, second], "cand", ["row_softmax_kernel"])
    alone = merge_passes([first], "cand", ["row_softmax_kernel"])
    soft = next(k for k in merged.kernels if k.own)
    soft_alone = next(k for k in alone.kernels if k.own)
    assert {"SQ_LDS_BANK_CONFLICT", "SQ_LDS_IDX_ACTIVE"} <= set(soft.counters) - set(soft_alone.counters)
    assert soft.counters["FETCH_SIZE"] == soft_alone.counters["FETCH_SIZE"]  # not counted twice
    assert soft.lds_bank_conflict_pct is not None and soft_alone.lds_bank_conflict_pct is None
    assert merge_passes([tmp_path / "none"], "cand", []) is None


def test_counters_on_the_cpu_platform_through_the_tool(cpu_evaluator):
    from tests.conftest import KERNELS, problem
    from tools.registry import CandidateState, Workbench, call

    wb = Workbench(
        problem=problem("KernelBench/level1/1_Small_ReLU.py"), evaluator=cpu_evaluator, max_attempts=3, target=1.0
    )
    state = CandidateState()
    written = call(wb, state, "write_kernel", {"source": (KERNELS / "cpu" / "good" / "relu.py").read_text()})
    state = state.model_copy(update=written.updates)
    reply = call(wb, state, "profile_kernel", {"counters": True})
    assert reply.text.startswith("SPEEDUP"), reply.text
    assert reply.text.rstrip().endswith("counters: there are no hardware counters on the cpu platform.")
    assert reply.artifact["counters"] == {}
    plain = call(wb, state, "profile_kernel", {})
    assert "counters" not in plain.text and "counters" not in plain.artifact


def test_a_profiler_wrapping_the_worker_writes_its_report_before_it_is_stopped(tmp_path):
    """ncu and rocprofv3 write their report when the worker exits; the sandbox must let them."""
    from tools.harness.protocol import WorkerRequest
    from tools.harness.sandbox import run_worker, scrubbed_env

    (tmp_path / "home").mkdir()
    report = tmp_path / "report.txt"
    # a stand-in profiler: runs the worker, then takes a moment to write its report
    prefix = ["sh", "-c", f'"$@"; sleep 1; echo written > {report}', "profiler"]
    req = WorkerRequest(
        problem_path=str(DATA / "KernelBench/level1/1_Small_ReLU.py"),
        platform="cpu",
        phases=["baseline"],
        channel_fd=-1,
        time_budget_s=0.05,
    )
    out = run_worker(
        req,
        env=scrubbed_env({}, tmp_path / "home"),
        workdir=tmp_path / "run",
        timeouts={"setup": 120.0, "baseline": 120.0},
        prefix=prefix,
    )
    assert out.finished and out.records[-1]["event"] == "done", out.log_tail
    assert report.read_text().strip() == "written"
