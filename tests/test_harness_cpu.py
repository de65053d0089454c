"""The evaluation harness on the cpu platform with real g++ builds: honest kernels pass, each kind of
broken or cheating kernel fails with a reason a kernel engineer would accept, and nothing brings the
agent's process down."""

import pytest

from tests.conftest import KERNELS, ROOT, problem
from tools.harness.results import Status

GOOD = [
    ("KernelBench/level1/1_Small_ReLU.py", "cpu/good/relu.py"),
    ("KernelBench/level1/2_Scale_Shift.py", "cpu/good/scale_shift.py"),
    ("KernelBench/level1/3_Small_Matmul.py", "cpu/good/matmul.py"),
    ("KernelBench/level1/4_Row_Sum.py", "cpu/good/row_sum.py"),
    ("KernelBench/level2/1_Linear_Bias_ReLU.py", "cpu/good/linear_bias_relu.py"),
]

RELU = "KernelBench/level1/1_Small_ReLU.py"
BAD = [
    ("cpu/bad/relu_wrong.py", Status.incorrect, "elements outside"),
    ("cpu/bad/relu_nan.py", Status.incorrect, "NaN"),
    ("cpu/bad/relu_wrong_shape.py", Status.incorrect, "shape (1, 64, 4096), expected (64, 4096)"),
    ("cpu/bad/relu_modifies_input.py", Status.incorrect, "modified in place"),
    ("cpu/bad/relu_build_error.py", Status.build_error, "cpp_sources line"),
    ("cpu/bad/relu_segfault.py", Status.crashed, "SIGSEGV"),
    ("cpu/bad/relu_hang.py", Status.timeout, "check did not finish within 20 s"),
    ("cpu/bad/relu_torch_fallback.py", Status.static_error, "no-kernel"),
]


@pytest.mark.parametrize("prob,kernel", GOOD, ids=[k for _, k in GOOD])
def test_honest_kernel_passes_and_is_timed(cpu_evaluator, prob, kernel):
    r = cpu_evaluator.evaluate(problem(prob), (KERNELS / kernel).read_text(), "profile")
    assert r.status == Status.ok, r.reason + r.log_tail
    assert r.compiled and r.correct
    assert len(r.check.trials) == 4 and all(t.passed for t in r.check.trials)  # 3 + the repeat
    assert any(t.candidate_first for t in r.check.trials) and any(not t.candidate_first for t in r.check.trials)
    assert r.timing.candidate.trials >= 10 and r.timing.reference.median_ms > 0
    assert r.speedup == pytest.approx(r.timing.reference.median_ms / r.timing.candidate.median_ms)
    assert r.profile is not None


@pytest.mark.parametrize("kernel,status,why", BAD, ids=[k for k, _, _ in BAD])
def test_broken_kernel_fails_with_reason(cpu_evaluator, kernel, status, why):
    r = cpu_evaluator.evaluate(problem(RELU), (KERNELS / kernel).read_text(), "profile")
    text = r.reason + (r.build.errors if r.build else "") + " ".join(str(v) for v in r.violations)
    assert r.status == status, f"{r.status}: {r.reason}"
    assert why in text
    assert not r.correct and r.speedup is None


def test_candidate_sees_no_secrets(cpu_evaluator, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-should-not-leak")
    monkeypatch.setenv("LLM_GATEWAY_KEY", "gw-should-not-leak")
    r = cpu_evaluator.evaluate(problem(RELU), (KERNELS / "cpu/bad/relu_reads_secret.py").read_text(), "check")
    assert r.status == Status.ok and r.correct, r.reason


def test_identical_source_is_not_evaluated_twice(cpu_evaluator):
    src = (KERNELS / "cpu/good/relu.py").read_text()
    first = cpu_evaluator.evaluate(problem(RELU), src, "check")
    again = cpu_evaluator.evaluate(problem(RELU), src, "check")
    assert again is first
    assert cpu_evaluator.evaluate(problem(RELU), src, "build") is not None


def test_baseline_reports_shapes_and_time(cpu_evaluator):
    b = cpu_evaluator.baseline(problem("KernelBench/level1/3_Small_Matmul.py"))
    assert b["inputs"] == ["(128, 256) float32", "(256, 128) float32"]
    assert b["reference"]["median_ms"] > 0
    assert b["flops"] == 2 * 128 * 256 * 128


def test_same_source_is_judged_per_problem(cpu_evaluator):
    src = (KERNELS / "cpu/good/relu.py").read_text()
    assert cpu_evaluator.evaluate(problem(RELU), src, "check").correct
    other = cpu_evaluator.evaluate(problem("KernelBench/level1/4_Row_Sum.py"), src, "check")
    assert not other.correct and other.status in (Status.incorrect, Status.crashed)


def test_time_below_the_speed_of_light_floor_is_rejected():
    from tools.harness.results import EvalResult, ProfileInfo, Timing, TimingInfo
    from tools.harness.verdict import judge_speed_of_light

    def result(kernel_ms):
        t = lambda ms: Timing(median_ms=ms, min_ms=ms, max_ms=ms, q25_ms=ms, q75_ms=ms, trials=10)
        return EvalResult(
            status=Status.ok,
            timing=TimingInfo(reference=t(1.0), candidate=t(kernel_ms), speedup=1 / kernel_ms),
            profile=ProfileInfo(floor_ms=0.5, bound="memory"),
        )

    honest, impossible = result(0.6), result(0.3)
    judge_speed_of_light(honest, 0.9)
    judge_speed_of_light(impossible, 0.9)
    assert honest.status == Status.ok and round(honest.profile.sol_pct) == 83
    assert impossible.status == Status.rejected and "speed-of-light floor of 0.5 ms" in impossible.reason


@pytest.mark.parametrize("byte,expect", [(0xFF, "nan"), (0x3F, 0x3F3F3F3F)])
def test_cpu_allocations_start_out_poisoned(byte, expect):
    """A scratch buffer the candidate never zeroes must not hold whatever the last user of that heap block
    left there (the reference's numbers): malloc fills it with the poison byte while the candidate runs."""
    import torch

    from tools.platforms.cpu import CpuPlatform

    plat = CpuPlatform()
    # Past the per-thread cache's 1 KiB (newer glibc serves small aligned blocks from it unfilled; there the
    # poisoned blocks of the output's size cover them): a bin's block, and one split from the heap's top.
    for n in (2048, 1 << 20):
        stale = [torch.randn(n) for _ in range(8)]
        del stale
        with plat.poisoned_allocations(byte):
            t = torch.empty(n)
        if expect == "nan":
            assert t.isnan().all(), f"{n} floats: {t[:4]}"
        else:
            assert (t.view(torch.int32) == expect).all(), f"{n} floats: {t.view(torch.int32)[:4]}"
    # Off again afterwards: timing must not pay for a fill on every allocation.
    stale = [torch.full((2048,), 7.0) for _ in range(8)]
    del stale
    assert not torch.empty(2048).isnan().all()


def test_two_processes_sharing_a_cache_get_their_own_run_folders(tmp_path):
    """Two runs on one cache evaluate the same source under the same name; each worker clears its
    folder's input copies when it ends, so the folders must not be shared."""
    import subprocess
    import sys

    from tools.harness.workspace import Workspace

    code = f"from tools.harness.workspace import Workspace; print(Workspace({str(tmp_path)!r}).run_dir('h-build'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    mine = Workspace(tmp_path).run_dir("h-build")
    assert mine.parent == tmp_path / "runs" and mine.name.startswith("h-build")
    assert other.stdout.strip() != str(mine)


RACER = """
import json, sys, time
from pathlib import Path
from tools.harness.config import EvalConfig
from tools.harness.evaluator import Evaluator
from tools.problem import Problem

cache, prob, kernel, go = sys.argv[1:5]
ev = Evaluator(EvalConfig(platform="cpu", cache_dir=cache))
source = Path(kernel).read_text()
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.01)
r = ev.evaluate(Problem.from_file(prob), source, "build")
ev.close()
print(json.dumps({"status": r.status.value, "cached": r.build.cached if r.build else None}), flush=True)
"""


def test_two_processes_sharing_a_cache_build_a_new_source_once(tmp_path, cache_dir):
    """Two runs (or two Ray lanes of one node) on one cache asked for the same new build at the same
    moment: one builds it, the other waits and imports that build."""
    import json
    import subprocess
    import sys
    import uuid

    from tests.conftest import DATA

    src = (KERNELS / "cpu/good/relu.py").read_text()
    kernel = tmp_path / "relu_race.py"
    kernel.write_text(src.replace("#include <cstdint>", f"#include <cstdint>  // {uuid.uuid4().hex}"))
    assert kernel.read_text() != src
    go = tmp_path / "go"
    argv = [sys.executable, "-c", RACER, str(cache_dir), str(DATA / RELU), str(kernel), str(go)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(2)]
    try:
        assert all(p.stdout.readline().strip() == "ready" for p in procs)
        go.touch()  # both ask at once
        results = [json.loads(p.stdout.readline()) for p in procs]
    finally:
        for p in procs:
            p.wait(timeout=600)
    assert [r["status"] for r in results] == ["ok", "ok"], results
    assert sorted(r["cached"] for r in results) == [False, True], results  # one built, one found it built
