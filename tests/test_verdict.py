"""Verdicts decided after the worker's records are in (tools.harness.verdict): the device-time cross-check,
--strict on fragile kernels; and how reports count fragile bests (agent.report)."""

from __future__ import annotations

import json

from agent.report import build_reports
from agent.store import RunStore
from tools.harness import verdict
from tools.harness.results import (
    BuildInfo,
    CheckInfo,
    EvalResult,
    ProfileInfo,
    RobustnessInfo,
    RobustTrial,
    Status,
    Timing,
    TimingInfo,
)


def _timed(cand_ms: float, device_ms: float | None, speedup: float = 1.5, fragile: bool = False) -> EvalResult:
    t = lambda ms: Timing(median_ms=ms, min_ms=ms, max_ms=ms, q25_ms=ms, q75_ms=ms, trials=10)  # noqa: E731
    trials = [RobustTrial(name="signed", describe="signed values", passed=not fragile, problem="bad")]
    return EvalResult(
        status=Status.ok,
        source_hash=f"h{cand_ms}{fragile}",
        build=BuildInfo(ok=True),
        check=CheckInfo(passed=True),
        timing=TimingInfo(reference=t(cand_ms * speedup), candidate=t(cand_ms), speedup=speedup),
        profile=ProfileInfo(device_ms=device_ms),
        robustness=RobustnessInfo(trials=trials),
    )


def test_a_time_below_the_profilers_device_time_is_rejected_with_both_figures():
    r = _timed(2.80, 3.26)
    verdict.judge_device_time(r, 0.9)
    assert r.status == Status.rejected and "2.8 ms" in r.reason and "3.26 ms" in r.reason
    assert "modified the timers" in r.reason and not r.correct and r.speedup is None


def test_a_time_at_or_above_the_device_time_stands():
    for cand, device in ((3.0, 3.26), (3.3, 3.26), (1.0, None)):
        r = _timed(cand, device)
        verdict.judge_device_time(r, 0.9)
        assert r.status == Status.ok and r.correct


def test_strict_turns_a_fragile_kernel_incorrect_and_leaves_a_robust_one():
    r = _timed(1.0, 1.0, fragile=True)
    assert r.fragile and r.correct
    verdict.judge_fragile(r, strict=False)
    assert r.status == Status.ok
    verdict.judge_fragile(r, strict=True)
    assert r.status == Status.incorrect and "fragile (--strict): wrong on signed values: bad" in r.reason
    robust = _timed(1.0, 1.0)
    verdict.judge_fragile(robust, strict=True)
    assert robust.status == Status.ok and not robust.fragile


def test_reports_give_fast_p_with_and_without_fragile_bests(tmp_path):
    store = RunStore(tmp_path, target=1.0)
    a, b = store.problem("1_A"), store.problem("2_B")
    a.record(0, "fast but fragile", _timed(1.0, 1.0, speedup=2.0, fragile=True))
    a.record(0, "slower, robust", _timed(1.0, 1.0, speedup=0.8))
    b.record(0, "robust", _timed(1.0, 1.0, speedup=1.2))
    (tmp_path / "run_config.json").write_text(json.dumps({"problems": ["1_A", "2_B"], "settings": {"target": 1.0}}))
    summary = build_reports(tmp_path)
    assert summary["totals"] == {"success": 2, "partial": 0, "failed": 0, "fragile": 1}
    assert summary["fast_p"]["fast_1"] == 1.0
    assert summary["fast_p_without_fragile"]["fast_1"] == 0.5
    assert summary["fast_p_without_fragile"]["fast_0"] == 1.0
    text = (tmp_path / "detailed_report.txt").read_text()
    assert "fast_p without fragile kernels: " in text
    assert "FRAGILE: wrong on signed values: bad (best without fragile kernels: 0.800x)" in text
