"""On a real GPU (`pytest -m gpu`, run on an NVIDIA H100): `agent solve` on the cuda platform with the
scripted model and real CUDA kernels, `agent eval` of correct and broken kernels, and the harness's
verdicts on each CUDA fixture. Lines starting FIGURE are the measurements the closing note quotes."""

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import AGENT, DATA, KERNELS, agent_env
from tools.harness.results import Status

pytestmark = pytest.mark.gpu

GPU_DATA = DATA / "gpu"
FIXTURES = {
    "cuda/good/relu.py": "level1/19_Big_ReLU.py",
    "cuda/bad/relu_wrong.py": "level1/19_Big_ReLU.py",
    "cuda/bad/relu_illegal_address.py": "level1/19_Big_ReLU.py",
    "cuda/bad/relu_aten_inside.py": "level1/19_Big_ReLU.py",
    "cuda/good/softmax.py": "level1/23_Row_Softmax.py",
    "cuda/good/bias_gelu.py": "level1/40_Add_Bias_GELU.py",
}


@pytest.fixture(scope="module")
def cuda_evaluator(cache_dir):
    import torch

    if not torch.cuda.is_available():
        pytest.fail("-m gpu needs a CUDA GPU")
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator

    ev = Evaluator(EvalConfig(platform="cuda", cache_dir=cache_dir))
    from tools.problem import Problem

    # Cold builds in parallel up front (one nvcc each), so the tests below measure cached builds.
    with ThreadPoolExecutor(len(FIXTURES)) as pool:
        builds = list(
            pool.map(
                lambda kv: ev.evaluate(Problem.from_file(GPU_DATA / kv[1]), (KERNELS / kv[0]).read_text(), "build"),
                FIXTURES.items(),
            )
        )
    for (k, _), r in zip(FIXTURES.items(), builds, strict=False):
        print(f"FIGURE build {k}: {r.status.value} {r.build.seconds if r.build else 0:.1f} s")
    return ev


def evaluate(ev, kernel, upto="profile"):
    from tools.problem import Problem

    return ev.evaluate(Problem.from_file(GPU_DATA / FIXTURES[kernel]), (KERNELS / kernel).read_text(), upto)


@pytest.mark.parametrize("kernel", ["cuda/good/relu.py", "cuda/good/softmax.py", "cuda/good/bias_gelu.py"])
def test_honest_cuda_kernels_pass_and_are_timed(cuda_evaluator, kernel):
    r = evaluate(cuda_evaluator, kernel)
    assert r.status == Status.ok, r.reason + r.log_tail
    assert r.correct and r.speedup and r.speedup > 0
    assert r.profile.own_share > 0.9, r.profile.kernels
    assert r.profile.floor_ms and r.timing.candidate.median_ms > r.profile.floor_ms
    t = r.timing
    print(
        f"FIGURE {kernel}: check {r.check.seconds:.2f} s, ref {t.reference.median_ms:.4f} ms, "
        f"kernel {t.candidate.median_ms:.4f} ms, speedup {r.speedup:.3f}x, SOL {r.profile.sol_pct:.0f}%, "
        f"spread {t.candidate.spread_pct:.1f}%, wall {r.wall_seconds:.1f} s"
    )


@pytest.mark.parametrize(
    "kernel,status,why",
    [
        # It writes half the output; the other half is the harness's NaN poison.
        ("cuda/bad/relu_wrong.py", Status.incorrect, "NaN/Inf value(s) where the reference is finite"),
        ("cuda/bad/relu_illegal_address.py", Status.crashed, "illegal memory access"),
        ("cuda/bad/relu_aten_inside.py", Status.rejected, "none of the kernels in your source ran"),
    ],
)
def test_broken_cuda_kernels_fail_and_the_gpu_stays_usable(cuda_evaluator, kernel, status, why):
    r = evaluate(cuda_evaluator, kernel)
    assert r.status == status, f"{r.status}: {r.reason}"
    assert why in r.reason
    assert not r.correct
    print(f"FIGURE {kernel}: {r.status.value}: {r.reason[:150]}")
    again = evaluate(cuda_evaluator, "cuda/good/softmax.py", "check")
    assert again.correct


def test_agent_eval_exit_codes(cuda_evaluator, cache_dir):
    env = agent_env(HIPGEN_CACHE_DIR=str(cache_dir))
    ok = subprocess.run(
        AGENT
        + [
            "eval",
            str(KERNELS / "cuda/good/softmax.py"),
            "--problem",
            str(GPU_DATA / "level1/23_Row_Softmax.py"),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    data = json.loads(ok.stdout)
    assert data["correct"] and data["result"]["platform"] == "cuda" and data["speedup"] > 0
    bad = subprocess.run(
        AGENT + ["eval", str(KERNELS / "cuda/bad/relu_wrong.py"), "--problem", str(GPU_DATA / "level1/19_Big_ReLU.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert bad.returncode == 1 and bad.stdout.startswith("INCORRECT"), bad.stdout + bad.stderr[-2000:]
    print(f"FIGURE agent eval softmax: speedup {data['speedup']:.3f}x; relu_wrong: {bad.stdout.splitlines()[0][:120]}")


def test_agent_solve_on_cuda(cuda_evaluator, cache_dir, tmp_path):
    out = tmp_path / "results"
    script = {
        "19_Big_ReLU": ["cuda/bad/relu_wrong.py", "cuda/good/relu.py"],
        "40_Add_Bias_GELU": ["cuda/good/bias_gelu.py"],
    }
    cmd = AGENT + [
        "solve",
        "--dataset",
        str(GPU_DATA),
        "--level1",
        "--range",
        "19,40",
        "--samples",
        "1",
        "--model",
        "tests.scripted_solver:factory",
        "--platform",
        "cuda",
        "--out",
        str(out),
    ]
    proc = subprocess.run(
        cmd,
        env=agent_env(HIPGEN_SCRIPT=json.dumps(script), HIPGEN_CACHE_DIR=str(cache_dir)),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    # the device the run names is the one its probe saw (an H100 or H200 on the lent machines)
    device_name = summary["config"]["device"]["device_name"]
    assert summary["config"]["platform"] == "cuda" and device_name == cuda_evaluator.device_info()["device_name"]
    assert device_name.startswith("NVIDIA"), device_name
    for name in ("19_Big_ReLU", "40_Add_Bias_GELU"):
        assert summary["problems"][name]["status"] in ("success", "partial")
        best = json.loads((out / name / "best_result.json").read_text())
        assert best["correct"] and best["platform"] == "cuda"
        trace = (out / name / "trace_0.jsonl").read_text()
        assert "share of device time in your own kernels" in trace
        print(
            f"FIGURE solve {name}: {summary['problems'][name]['status']}, best {best['speedup']:.3f}x, "
            f"attempts {summary['problems'][name]['attempts']}, check {best['check']['seconds']:.2f} s, "
            f"wall {best['wall_seconds']:.1f} s"
        )
    relu_results = [json.loads(f.read_text()) for f in sorted((out / "19_Big_ReLU").glob("result_*.json"))]
    assert [r["status"] for r in relu_results] == ["incorrect", "ok"]


def test_two_gpus_are_two_lanes_that_work_at_once(cache_dir, tmp_path):
    """With two GPUs, two candidates are checked and timed at the same time, one per device (skipped on
    a one-GPU machine, where it cannot be shown)."""
    import torch

    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    if torch.cuda.device_count() < 2:
        pytest.skip("needs two GPUs")
    log = tmp_path / "lanes.jsonl"
    ev = Evaluator(EvalConfig(platform="cuda", cache_dir=cache_dir, gpus="0,1"), lane_log=log)
    jobs = [("cuda/good/relu.py", "level1/19_Big_ReLU.py"), ("cuda/good/softmax.py", "level1/23_Row_Softmax.py")]
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(lambda j: ev.evaluate(Problem.from_file(GPU_DATA / j[1]), (KERNELS / j[0]).read_text()), jobs)
        )
    assert all(r.status == Status.ok for r in results), [r.reason for r in results]
    spans = [json.loads(line) for line in log.read_text().splitlines()]
    assert {s["lane"] for s in spans} == {"0", "1"}
    a, b = spans[0], spans[1]
    assert a["start"] < b["end"] and b["start"] < a["end"], spans  # the two intervals overlap
    print(
        "FIGURE two lanes: "
        + "; ".join(f"lane {s['lane']} {s['problem']} {s['end'] - s['start']:.1f} s" for s in spans)
    )


def test_counters_on_request_come_from_ncu(cuda_evaluator):
    from tools.problem import Problem

    source = (KERNELS / "cuda/good/relu.py").read_text()
    prob = Problem.from_file(GPU_DATA / FIXTURES["cuda/good/relu.py"])
    assert cuda_evaluator.evaluate(prob, source).status == Status.ok
    text, data = cuda_evaluator.counters(prob, source)
    print("FIGURE ncu counters:\n" + text)
    if not data.get("kernels"):
        print(
            "ncu worker log tail:\n"
            + data.get("worker_log_tail", "")
            + "\nncu log head:\n"
            + data.get("ncu_log_head", "")
        )
    assert text.startswith("ncu counters"), text
    assert data["vendor"] == "ncu" and data["kernels"], data
    metrics = data["kernels"][0]["metrics"]
    assert metrics.get("gpu__time_duration.sum", 0) > 0 and "launch__registers_per_thread" in metrics


def test_the_shared_digest_agrees_with_ncus_own_report(cuda_evaluator, tmp_path):
    """Issue 13: the digest's DRAM rate, share of peak and occupancy against a separate, plain ncu run
    of the same kernel (outside the harness, its own metrics by name)."""
    import csv
    import io
    import os
    import sys

    from tools.harness.profilers.ncu import find_ncu
    from tools.problem import Problem

    source = (KERNELS / "cuda/good/relu.py").read_text()
    prob = Problem.from_file(GPU_DATA / FIXTURES["cuda/good/relu.py"])
    result = cuda_evaluator.evaluate(prob, source)
    assert result.status == Status.ok
    text, data = cuda_evaluator.counters(prob, source, result)
    ours, diag = data["counters"][0], data["bottleneck"]
    metrics = [
        "gpu__time_duration.sum",
        "dram__bytes_read.sum",
        "dram__bytes_write.sum",
        "dram__throughput.avg.pct_of_peak_sustained_elapsed",
        "sm__warps_active.avg.pct_of_peak_sustained_active",
    ]
    log = tmp_path / "ncu.csv"
    env = dict(os.environ, TORCH_EXTENSIONS_DIR=str(tmp_path / "ext"), PYTHONPATH=str(DATA.parents[1]))
    env["TORCH_CUDA_ARCH_LIST"] = cuda_evaluator.build_env().get("TORCH_CUDA_ARCH_LIST", "")
    cmd = [find_ncu(), "--csv", "--page", "raw", "--print-units", "base", "--metrics", ",".join(metrics)]
    cmd += ["-k", "regex:relu", "--log-file", str(log), sys.executable, "-m", "tests.benchmarks.run_candidate"]
    cmd += [str(KERNELS / "cuda/good/relu.py"), str(GPU_DATA / FIXTURES["cuda/good/relu.py"]), "5"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=DATA.parents[1])
    body = "\n".join(ln for ln in log.read_text().splitlines() if ln.strip() and not ln.startswith("=="))
    rows = [r for r in csv.DictReader(io.StringIO(body)) if (r.get("Kernel Name") or "").strip()][2:]
    assert rows, proc.stderr[-2000:]
    num = lambda r, k: float(r[k].replace(",", ""))  # noqa: E731
    mean = lambda k: sum(num(r, k) for r in rows) / len(rows)  # noqa: E731
    gbps = (mean("dram__bytes_read.sum") + mean("dram__bytes_write.sum")) / mean("gpu__time_duration.sum")
    pct, occ = (
        mean("dram__throughput.avg.pct_of_peak_sustained_elapsed"),
        mean("sm__warps_active.avg.pct_of_peak_sustained_active"),
    )
    print(
        f"FIGURE digest vs ncu: DRAM {ours['dram_gbps']:.0f} vs {gbps:.0f} GB/s, share of peak "
        f"{diag['dram_pct']:.1f}% vs ncu's {pct:.1f}%, occupancy {ours['occupancy_pct']:.1f}% vs {occ:.1f}%; "
        f"{diag['sentence']}"
    )
    assert abs(ours["dram_gbps"] / gbps - 1) < 0.1
    assert abs(diag["dram_pct"] - pct) < 10 and abs(ours["occupancy_pct"] - occ) < 10
    assert diag["sentence"].startswith("memory-bound")


def test_poisoning_reaches_every_free_cached_block_in_place():
    """A freed block that still holds a result (the reference's output, say) is handed out again by the
    caching allocator; after the poison pass it must hold the poison, whichever block the request gets,
    without the cache being given back to the driver."""
    import torch

    from tools.platforms.cuda_poison import free_blocks, poison_cached_blocks

    sizes = [64 << 20, 3 << 20, 1 << 20, 4096, 700 << 10]
    stale = [torch.full((n // 4,), 7.0, device="cuda") for n in sizes]
    keep = torch.ones(1 << 20, device="cuda")  # a live neighbour, so blocks are split, not whole segments
    del stale
    reserved = torch.cuda.memory_reserved()
    assert poison_cached_blocks(256 << 20, 0xFF, 1 << 34)
    assert torch.cuda.memory_reserved() >= reserved  # nothing went back to the driver
    # every request first, then the checks: a check's own temporaries are freed blocks that hold its
    # results (0x01 bytes from a bool tensor), which a later request would be handed
    again = [torch.empty(n // 4, device="cuda") for n in sizes]
    big = torch.empty(200 << 20, dtype=torch.uint8, device="cuda")  # fits only the reserve
    for n, t in zip(sizes, again, strict=True):
        assert torch.isnan(t).all(), f"a {n}-byte block kept its old values"
    assert bool((big == 0xFF).all())
    large, small, elsewhere = free_blocks()
    assert not elsewhere and keep.sum().item() == 1 << 20


def test_the_first_call_of_a_timed_batch_is_not_slower_than_the_calls_queued_behind_it():
    """The same reference on both sides: a call that goes first in its pair must time like one that goes
    second. Without a head start the first began on an idle device before its kernels were queued, and
    the samples split into two modes 2-4% apart, so the medians never settled."""
    import statistics

    import torch

    from tools.harness.timing import interleaved
    from tools.platforms import get_platform

    platform = get_platform("cuda")
    platform.prepare()
    platform.seal_timers()

    def softmax(x):
        return torch.softmax(x[0], dim=1)

    make = lambda i: ([torch.randn(2048, 262144, device="cuda")], [torch.randn(2048, 262144, device="cuda")])
    run = interleaved(
        platform, softmax, softmax, make, lambda c, r: None, warmup=2, budget_s=0.5, min_trials=30, max_trials=30
    )
    first, second = statistics.median(run.ref_ms[0::2]), statistics.median(run.ref_ms[1::2])
    assert abs(first / second - 1) < 0.01, (first, second)
    first, second = statistics.median(run.cand_ms[1::2]), statistics.median(run.cand_ms[0::2])
    assert abs(first / second - 1) < 0.01, (first, second)
