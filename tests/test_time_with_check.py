"""time_with_check: a check that passes goes on to profile and time in the same worker, so a candidate
holds the device lane once; the check request answers the check's own verdict, the profile request the
rest, from the same evaluation. Real builds and workers on the cpu platform, where it is off unless set."""

from __future__ import annotations

import json

import pytest

from tests.conftest import KERNELS, problem
from tools.harness.results import Status

RELU = "KernelBench/level1/1_Small_ReLU.py"


@pytest.fixture(scope="module")
def merged(cache_dir, tmp_path_factory):
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator

    log = tmp_path_factory.mktemp("lanes") / "lanes.jsonl"
    cfg = EvalConfig(
        platform="cpu",
        cache_dir=cache_dir,
        check_trials=3,
        time_budget_s=0.2,
        max_timing_trials=30,
        time_with_check=True,
    )
    cfg.timeouts.update({"check": 30.0, "profile": 60.0, "time": 60.0})
    return Evaluator(cfg, lane_log=log), log


def _holds(log, ev, source: str) -> list[list[str]]:
    h = ev.source_hash(source)
    return [r["phases"] for r in map(json.loads, log.read_text().splitlines()) if r["source_hash"] == h]


def test_a_passing_check_is_timed_in_the_same_worker_and_answers_the_profile_request(merged):
    ev, log = merged
    source = (KERNELS / "cpu/good/relu.py").read_text()
    checked = ev.evaluate(problem(RELU), source, "check")
    assert checked.status == Status.ok and checked.check.passed
    assert checked.timing is None and checked.profile is None  # the check request answers the check
    assert _holds(log, ev, source) == [["build", "check", "profile", "time", "robust"]]
    profiled = ev.evaluate(problem(RELU), source, "profile")
    assert profiled.status == Status.ok and profiled.speedup is not None and profiled.profile is not None
    assert profiled.check.passed and profiled.robustness is not None
    assert profiled.timing.stopped_by in ("settled", "deadline", "trials")
    assert len(_holds(log, ev, source)) == 1  # no second worker on the lane


def test_a_rejection_in_the_timing_belongs_to_the_profile_request(merged):
    ev, log = merged
    source = (KERNELS / "cpu/cheat/relu_late_replay.py").read_text()
    checked = ev.evaluate(problem(RELU), source, "check")
    profiled = ev.evaluate(problem(RELU), source, "profile")
    assert profiled.status == Status.rejected and profiled.failed_phase == "time", profiled.reason
    assert "outputs during timing did not match the reference" in profiled.reason
    assert checked.status == Status.ok and checked.check.passed and checked.timing is None
    assert len(_holds(log, ev, source)) == 1


def test_a_failing_check_stops_there(merged):
    ev, log = merged
    source = (KERNELS / "cpu/bad/relu_nan.py").read_text()
    checked = ev.evaluate(problem(RELU), source, "check")
    assert checked.status == Status.incorrect and checked.failed_phase == "check"
    assert ev.evaluate(problem(RELU), source, "profile").status == Status.incorrect
    assert _holds(log, ev, source) == [["build", "check", "profile", "time", "robust"]]
