"""Kernels right only on the benchmark's inputs (issue 20), through the real harness on the cpu platform:
each keeps its benchmark verdict (correct, timed) and comes back fragile, naming the input it got
wrong; --strict makes that incorrect; the tool text tells the model. The cuda half of this table runs
in tests/test_cheats_gpu.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import pytest

from tests.conftest import KERNELS, problem
from tools.feedback import status_text
from tools.harness.results import Status

RAND_RELU = "fragile/rand_relu_small.py"
SOFTMAX = "fragile/softmax_small.py"


class Fragile(NamedTuple):
    fixture: str
    problem: str
    trial: str  # the variant that shows it
    says: str  # in the failure


FRAGILE = [
    Fragile("cpu/fragile/relu_identity.py", RAND_RELU, "signed", "random signs"),
    Fragile("cpu/fragile/relu_fixed_shape.py", RAND_RELU, "odd", "odd leading and last dimensions"),
    Fragile("cpu/fragile/softmax_no_max.py", SOFTMAX, "special", "NaN/Inf"),
    Fragile("cpu/fragile/relu_abort_odd.py", RAND_RELU, "odd", "the worker died with SIGABRT"),
]


@pytest.fixture(scope="module")
def fragile_built(cpu_evaluator):
    with ThreadPoolExecutor(max(1, cpu_evaluator.config.build_jobs)) as pool:
        list(
            pool.map(
                lambda f: cpu_evaluator.evaluate(problem(f.problem), (KERNELS / f.fixture).read_text(), "build"),
                FRAGILE,
            )
        )
    return cpu_evaluator


@pytest.mark.parametrize("f", FRAGILE, ids=[f.fixture for f in FRAGILE])
def test_a_kernel_right_only_on_the_benchmarks_inputs_is_correct_and_fragile(fragile_built, f: Fragile):
    r = fragile_built.evaluate(problem(f.problem), (KERNELS / f.fixture).read_text(), "profile")
    assert r.status == Status.ok and r.correct and r.speedup, r.reason
    assert r.fragile, r.robustness
    failed = r.robustness.failed
    assert failed.name == f.trial and f.says in r.robustness.failure(), r.robustness
    text = status_text(r, "profile")
    assert text.startswith("SPEEDUP") and "FRAGILE: correct on the benchmark's inputs, but wrong on" in text


def test_the_check_tool_reports_fragile_too(fragile_built):
    f = FRAGILE[0]
    r = fragile_built.evaluate(problem(f.problem), (KERNELS / f.fixture).read_text(), "check")
    assert r.correct and r.fragile
    assert "FRAGILE" in status_text(r, "check") and "CORRECT" in status_text(r, "check")


def test_strict_counts_fragile_as_incorrect(cache_dir, fragile_built):
    from tools.harness.evaluator import Evaluator

    strict = Evaluator(fragile_built.config.model_copy(update={"strict": True}))
    try:
        f = FRAGILE[0]
        r = strict.evaluate(problem(f.problem), (KERNELS / f.fixture).read_text(), "check")
        assert r.status == Status.incorrect and not r.correct and r.reason.startswith("fragile (--strict): wrong on")
        assert status_text(r, "check").startswith("INCORRECT: fragile (--strict)")
    finally:
        strict.close()


def test_an_honest_kernel_on_the_same_problem_is_not_fragile(fragile_built):
    r = fragile_built.evaluate(problem(RAND_RELU), (KERNELS / "cpu/good/relu.py").read_text(), "check")
    assert r.correct and not r.fragile
    assert {t.name for t in r.robustness.trials if t.counted} >= {"signed", "special", "rows", "cols", "odd"}
    assert "robust on inputs beyond the benchmark's" in status_text(r, "check")
