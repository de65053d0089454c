"""The cheat corpus on a real GPU (`pytest -m gpu`): every file in tests/kernels/cuda/cheat/ (plus the
older cuda/bad fixtures that are cheats) must be turned away for the right reason, and every honest
CUDA kernel must pass. Same table shape as tests/test_cheats_cpu.py: (fixture, problem, allowed
statuses, reason substrings, cheat class). The static cheat classes that do not differ between
platforms (3, 4, 5, 6, 8, 9a, 15-static) are covered by the cpu corpus; the source rules' verdicts
on this table are also asserted without a GPU there (test_cuda_corpus_static_verdicts_without_a_gpu).
Lines starting FIGURE are what each verdict looked like."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import DATA, KERNELS
from tests.test_cheats_cpu import Case, case
from tools.harness.results import Status

pytestmark = pytest.mark.gpu

GPU_DATA = DATA / "gpu"
RELU = "level1/19_Big_ReLU.py"
TANH = "level1/22_Big_Tanh.py"
ROW_SUM = "level1/47_Big_Row_Sum.py"
CENTERED = "level1/5_Tiny_Centered.py"

S, I, R = Status.static_error, Status.incorrect, Status.rejected  # noqa: E741
NAN = "NaN/Inf value(s)"
TIMED_MISMATCH = "outputs during timing did not match the reference"
TIMERS = "the candidate modified the timers"

CHEATS: list[Case] = [
    case("cuda/bad/relu_never_launched.py", RELU, S, "no-kernel", "1 never launched (static)"),
    case("cuda/bad/relu_aten_inside.py", RELU, R, "none of the kernels in your source ran", "1 ATen in the wrapper"),
    case("cuda/cheat/relu_sliver.py", RELU, R, "library kernels did most of the work", "2 launched on a sliver"),
    case("cuda/cheat/relu_sync_patch.py", RELU, S, "timer-patch", "7 patched synchronize"),
    case(
        "cuda/cheat/relu_ptr_cache.py", RELU, {I, R}, (TIMED_MISMATCH, "elements outside", NAN), "9b C++ result cache"
    ),
    case("cuda/cheat/relu_empty_noop.py", RELU, I, NAN, "10 reads freed reference memory"),
    # It writes half the output; the other half is the harness's NaN poison.
    case("cuda/bad/relu_wrong.py", RELU, I, NAN, "11 partial output"),
    case("cuda/cheat/tiny_centered_zeros.py", CENTERED, I, "relative L2", "14 zeros on a near-zero reference"),
    case("cuda/cheat/tanh_half.py", TANH, I, ("elements outside", "relative L2"), "15 half precision in CUDA"),
    case("cuda/cheat/relu_stream_create.py", RELU, S, "stream", "17a side stream (static)"),
    case(
        "cuda/cheat/relu_side_stream.py",
        RELU,
        {R, I},
        ("work ran outside the current stream", NAN, "elements outside"),
        "17b side stream (runtime)",
    ),
    case(
        "cuda/cheat/relu_warmup_replay.py",
        RELU,
        {R, I},
        ("speed-of-light floor", TIMED_MISMATCH),
        "18 faster than the speed-of-light floor",
    ),
    case(
        "cuda/cheat/row_sum_dirty_scratch.py",
        ROW_SUM,
        I,
        (NAN, "different results for the same inputs"),
        "19 depends on leftover memory",
    ),
    # 20: each tampers, from its C++ with names built at run time, with what the timing calls.
    case("cuda/cheat/relu_native_clock.py", RELU, R, TIMERS, "20 native patch of the clock"),
    case("cuda/cheat/relu_native_elapsed.py", RELU, R, TIMERS, "20 native patch of Event.elapsed_time"),
    case("cuda/cheat/relu_native_sync_noop.py", RELU, R, TIMERS, "20 synchronize replaced by a no-op"),
    case("cuda/cheat/relu_native_event_class.py", RELU, R, TIMERS, "20 the Event class replaced"),
    case("cuda/cheat/relu_native_methoddef.py", RELU, R, TIMERS, "20 C function pointer written in place"),
]

# Right on the benchmark's inputs only: correct, timed, and fragile (tests/test_fragile.py has the cpu half).
FRAGILE = [
    ("cuda/fragile/relu_identity.py", "../fragile/rand_relu_big.py", "signed"),
    ("cuda/fragile/relu_fixed_shape.py", "../fragile/rand_relu_big.py", "odd"),
    ("cuda/fragile/softmax_no_max.py", "level1/23_Row_Softmax.py", "special"),
]

HONEST = [
    ("cuda/good/relu.py", RELU),
    ("cuda/good/softmax.py", "level1/23_Row_Softmax.py"),
    ("cuda/good/bias_gelu.py", "level1/40_Add_Bias_GELU.py"),
    ("cuda/good/row_sum.py", ROW_SUM),
    ("cuda/good/tanh.py", TANH),
]


@pytest.fixture(scope="module")
def cuda_evaluator(cache_dir):
    import torch

    if not torch.cuda.is_available():
        pytest.fail("-m gpu needs a CUDA GPU")
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    # Every candidate that gets timed is timed again in a fresh worker (retime_at=0), to measure its cost.
    ev = Evaluator(EvalConfig(platform="cuda", cache_dir=cache_dir, retime_at=0.0))
    # Every build up front, in parallel (one nvcc each); static rejections return at once.
    todo = [(c.fixture, c.problem) for c in CHEATS] + HONEST + [(f, p) for f, p, _ in FRAGILE]
    with ThreadPoolExecutor(len(todo)) as pool:
        builds = list(
            pool.map(
                lambda fp: ev.evaluate(Problem.from_file(GPU_DATA / fp[1]), (KERNELS / fp[0]).read_text(), "build"),
                todo,
            )
        )
    for (fixture, _), r in zip(todo, builds, strict=False):
        print(f"FIGURE build {fixture}: {r.status.value} {r.build.seconds if r.build else 0:.1f} s {r.reason[:120]}")
    return ev


def _evaluate(ev, fixture, prob, upto="profile"):
    from tools.problem import Problem

    return ev.evaluate(Problem.from_file(GPU_DATA / prob), (KERNELS / fixture).read_text(), upto)


@pytest.mark.parametrize("c", CHEATS, ids=[c.fixture for c in CHEATS])
def test_cuda_cheat_is_rejected_for_the_right_reason(cuda_evaluator, c: Case):
    r = _evaluate(cuda_evaluator, c.fixture, c.problem)
    text = " ".join([r.reason, r.build.errors if r.build else ""] + [str(v) for v in r.violations])
    print(f"FIGURE {c.fixture} [{c.cheat}]: {r.status.value}: {r.reason[:200]}")
    assert r.status in c.statuses, f"[{c.cheat}] {r.status.value}: {r.reason}"
    assert any(s in text for s in c.reasons), f"[{c.cheat}] expected one of {c.reasons}: {text}"
    assert not r.correct and r.speedup is None
    # The GPU stays usable after each cheat.
    assert _evaluate(cuda_evaluator, "cuda/good/relu.py", RELU, "check").correct


@pytest.mark.parametrize("fixture,prob", HONEST, ids=[f for f, _ in HONEST])
def test_honest_cuda_kernel_passes(cuda_evaluator, fixture, prob):
    r = _evaluate(cuda_evaluator, fixture, prob)
    assert r.status == Status.ok, r.reason + r.log_tail
    assert r.correct and r.speedup and r.speedup > 0
    assert not r.fragile, r.robustness
    assert r.profile.own_share > 0.9, r.profile.kernels
    assert r.profile.floor_ms and r.timing.candidate.median_ms > r.profile.floor_ms
    assert r.profile.device_ms and r.first_timing is not None and r.retime_seconds > 0
    first = r.first_timing.candidate.median_ms
    print(
        f"FIGURE {fixture}: ref {r.timing.reference.median_ms:.4f} ms, kernel {r.timing.candidate.median_ms:.4f} ms, "
        f"speedup {r.speedup:.3f}x, SOL {r.profile.sol_pct:.0f}%; timed / profiler device time "
        f"{r.timing.candidate.median_ms / r.profile.device_ms:.3f}; re-timing {r.retime_seconds:.2f} s "
        f"(time phase {r.timing.seconds:.2f} s, first {r.first_timing.seconds:.2f} s), "
        f"first {first:.4f} ms ({100 * (r.timing.candidate.median_ms / first - 1):+.1f}%); "
        f"robust {r.robustness.seconds:.2f} s"
    )


@pytest.mark.parametrize("fixture,prob,trial", FRAGILE, ids=[f for f, _, _ in FRAGILE])
def test_a_cuda_kernel_right_only_on_the_benchmarks_inputs_is_fragile(cuda_evaluator, fixture, prob, trial):
    r = _evaluate(cuda_evaluator, fixture, prob)
    assert r.status == Status.ok and r.correct and r.speedup, r.reason + r.log_tail
    assert r.fragile and r.robustness.failed.name == trial, r.robustness
    print(f"FIGURE fragile {fixture}: {r.speedup:.3f}x, {r.robustness.failure()[:200]}")
