"""The cheat corpus on the cpu platform (issue 3, "evaluation that cannot be fooled"): every file in
tests/kernels/cpu/cheat/ (plus the older cpu/bad fixtures that are cheats) is a complete KernelBench
ModelNew file an LLM could plausibly write to game the benchmark, and each must be turned away for the
right reason; every honest kernel must still pass. Cheats caught by the source rules cost nothing;
the runtime ones cost one g++ build each (shared through the session cache_dir).

The table is the contract: (fixture, problem, allowed statuses, reason substrings, cheat class). A
case passes when the status is one of the allowed ones and the reason (or a violation, or the build
errors) contains one of the substrings."""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import pytest

from tests.conftest import KERNELS, problem
from tools.harness.results import Status

RELU = "KernelBench/level1/1_Small_ReLU.py"
SCALE_SHIFT = "KernelBench/level1/2_Scale_Shift.py"
MATMUL = "KernelBench/level1/3_Small_Matmul.py"
ROW_SUM = "KernelBench/level1/4_Row_Sum.py"
CENTERED = "KernelBench/level1/5_Tiny_Centered.py"

S, I, R = Status.static_error, Status.incorrect, Status.rejected  # noqa: E741
NAN = "NaN/Inf value(s)"
TIMED_MISMATCH = "outputs during timing did not match the reference"


class Case(NamedTuple):
    fixture: str
    problem: str
    statuses: frozenset
    reasons: tuple
    cheat: str


def case(fixture, prob, statuses, reasons, cheat) -> Case:
    statuses = frozenset(statuses if isinstance(statuses, (set, frozenset, tuple)) else {statuses})
    return Case(fixture, prob, statuses, (reasons,) if isinstance(reasons, str) else tuple(reasons), cheat)


CHEATS = [
    # 1: kernel built but never launched, torch does the work in forward (static) ...
    case("cpu/bad/relu_torch_fallback.py", RELU, S, "no-kernel", "1 never launched (static)"),
    # ... and the runtime-only variant: the C++ wrapper calls at::relu.
    case("cpu/cheat/relu_aten_in_wrapper.py", RELU, R, "ATen ops did most of the work", "1 ATen in the wrapper"),
    # 2: own loop on 1% of the elements, ATen (from C++) on the rest.
    case("cpu/cheat/relu_sliver.py", RELU, R, "ATen ops did most of the work", "2 launched on a sliver"),
    # 3: the banned matrix product, two spellings.
    case("cpu/cheat/matmul_operator.py", MATMUL, S, "banned-op", "3 banned op (@)"),
    case("cpu/cheat/matmul_einsum.py", MATMUL, S, "banned-op", "3 banned op (einsum)"),
    case("cpu/cheat/relu_try_fallback.py", RELU, S, "fallback", "4 try/except fallback"),
    case("cpu/cheat/relu_subclass_model.py", RELU, S, "inherits-reference", "5 reuses the reference Model"),
    case("cpu/cheat/relu_background_thread.py", RELU, S, "concurrency", "6 threads"),
    case("cpu/cheat/relu_patched_timer.py", RELU, S, "timer-patch", "7 patched timer"),
    case("cpu/cheat/relu_gc_lookup.py", RELU, S, "introspection", "8 gc introspection"),
    case("cpu/cheat/relu_shape_cache.py", RELU, S, "caching", "9a Python result cache"),
    # 9b: C++ static map keyed by data_ptr: a stale answer in the check, or replayed during timing.
    case("cpu/cheat/relu_ptr_cache.py", RELU, {I, R}, (TIMED_MISMATCH, "elements outside", NAN), "9b C++ result cache"),
    # 10: empty_like and nothing written, hoping for the reference's freed output. malloc fills what it
    # hands the candidate with the poison byte (glibc's M_PERTURB), so the unwritten part is NaN.
    case("cpu/cheat/relu_empty_noop.py", RELU, I, NAN, "10 reads freed reference memory"),
    # 11: only half the rows written.
    case("cpu/cheat/relu_half_rows.py", RELU, I, NAN, "11 partial output"),
    case("cpu/bad/relu_modifies_input.py", RELU, I, "modified in place", "12 input modified in place"),
    case("cpu/bad/relu_wrong_shape.py", RELU, I, "shape", "13 wrong shape that broadcasts"),
    case("cpu/cheat/tiny_centered_zeros.py", CENTERED, I, "relative L2", "14 zeros on a near-zero reference"),
    case(
        "cpu/cheat/scale_shift_half.py",
        SCALE_SHIFT,
        I,
        ("elements outside", "relative L2"),
        "15 half precision inside the C++",
    ),
    case("cpu/cheat/relu_half_python.py", RELU, S, "precision", "15 .half() in Python"),
    case("cpu/bad/relu_nan.py", RELU, I, "NaN/Inf", "16 NaN in the output"),
    # 19: accumulates into a never-zeroed torch::empty scratch. Poisoning freed memory alone let it through
    # with plain wrong values when malloc gave it a freed block the poison pass had not reused.
    case("cpu/cheat/row_sum_dirty_scratch.py", ROW_SUM, I, NAN, "19 depends on leftover memory"),
    # 18: honest for its first 16 calls (the check), then replays its last output.
    case("cpu/cheat/relu_late_replay.py", RELU, R, TIMED_MISMATCH, "18 replay once the check is over"),
    # 20: the binding slows time.perf_counter and time.monotonic from C++, names built at run time.
    case("cpu/cheat/relu_clock_patch.py", RELU, R, "the candidate modified the timers", "20 native clock patch"),
    # ... and one that leaves the objects alone and writes another C function into their method table.
    case(
        "cpu/cheat/relu_methoddef_patch.py",
        RELU,
        R,
        "(rewritten in place)",
        "20 native method-table write",
    ),
]

HONEST = [
    ("cpu/good/relu.py", RELU),
    ("cpu/good/scale_shift.py", SCALE_SHIFT),
    ("cpu/good/matmul.py", MATMUL),
    ("cpu/good/row_sum.py", ROW_SUM),
    ("cpu/good/linear_bias_relu.py", "KernelBench/level2/1_Linear_Bias_ReLU.py"),
    ("cpu/good/tiny_centered.py", CENTERED),
]


def _static_expected(c: Case) -> bool:
    return c.statuses == {Status.static_error}


@pytest.fixture(scope="module")
def built(cpu_evaluator):
    """Build every runtime fixture up front, two at a time: one g++ per distinct source."""
    todo = [(c.fixture, c.problem) for c in CHEATS if not _static_expected(c)] + HONEST
    with ThreadPoolExecutor(max(1, cpu_evaluator.config.build_jobs)) as pool:
        list(pool.map(lambda fp: cpu_evaluator.evaluate(problem(fp[1]), (KERNELS / fp[0]).read_text(), "build"), todo))
    return cpu_evaluator


def _text(r) -> str:
    return " ".join([r.reason, r.build.errors if r.build else ""] + [str(v) for v in r.violations])


@pytest.mark.parametrize("c", CHEATS, ids=[c.fixture for c in CHEATS])
def test_cheat_is_rejected_for_the_right_reason(built, c: Case):
    r = built.evaluate(problem(c.problem), (KERNELS / c.fixture).read_text(), "profile")
    text = _text(r)
    assert r.status in c.statuses, f"[{c.cheat}] {r.status.value}: {r.reason}"
    assert any(s in text for s in c.reasons), f"[{c.cheat}] {r.status.value}: expected one of {c.reasons}: {text}"
    assert not r.correct and r.speedup is None


@pytest.mark.parametrize("fixture,prob", HONEST, ids=[f for f, _ in HONEST])
def test_honest_kernel_passes(built, fixture, prob):
    r = built.evaluate(problem(prob), (KERNELS / fixture).read_text(), "profile")
    assert r.status == Status.ok, r.reason + r.log_tail
    assert r.correct and r.speedup and r.speedup > 0
    assert not r.fragile, r.robustness


# ---- the corpus itself: complete, documented, and the cuda half's static verdicts ----


def _cheat_files(platform: str) -> list[str]:
    return sorted(p.relative_to(KERNELS).as_posix() for p in (KERNELS / platform / "cheat").glob("*.py"))


def test_every_cpu_cheat_file_is_in_the_table():
    listed = {c.fixture for c in CHEATS}
    assert set(_cheat_files("cpu")) <= listed
    assert len({c.cheat.split()[0].rstrip("ab") for c in CHEATS}) >= 15  # classes 1-16 and 19


@pytest.mark.parametrize("fixture", _cheat_files("cpu") + _cheat_files("cuda"))
def test_cheat_file_says_which_cheat_and_why(fixture):
    src = (KERNELS / fixture).read_text()
    doc = ast.get_docstring(ast.parse(src)) or ""
    assert doc.startswith("Cheat (class "), doc[:80]
    assert any(w in doc for w in ("must", "reject", "fail", "incorrect", "static_error")), (
        doc
    )  # and why it has to be turned away


def test_every_cuda_cheat_file_is_in_the_gpu_table():
    from tests.test_cheats_gpu import CHEATS as GPU_CHEATS

    assert set(_cheat_files("cuda")) <= {c.fixture for c in GPU_CHEATS}


def test_cuda_corpus_static_verdicts_without_a_gpu():
    """The source rules need no GPU: the cuda cheats meant to be caught statically are, for the named
    rule, and the cuda fixtures meant for the runtime checks (and the honest ones) pass the rules, so a
    GPU run really exercises the runtime check."""
    from tests.test_cheats_gpu import CHEATS as GPU_CHEATS
    from tests.test_cheats_gpu import HONEST as GPU_HONEST
    from tools.harness.static_check import check_source
    from tools.problem import DEFAULT_BANNED_OPS

    for c in GPU_CHEATS:
        vs = check_source((KERNELS / c.fixture).read_text(), "cuda", DEFAULT_BANNED_OPS)
        if _static_expected(c):
            assert any(any(s in f"[{v.rule}]" for s in c.reasons) for v in vs), (c.fixture, vs)
        else:
            assert vs == [], (c.fixture, vs)
    for fixture, _ in GPU_HONEST:
        assert check_source((KERNELS / fixture).read_text(), "cuda", DEFAULT_BANNED_OPS) == [], fixture
