"""Where a candidate's verdict is decided: the worker's records folded into its EvalResult, and the
speed-of-light rule. The result's compiled, correct and speedup follow from the status it leaves
(tools.harness.results.EvalResult)."""

from __future__ import annotations

from tools.harness.protocol import Phase
from tools.harness.results import BuildInfo, CheckInfo, EvalResult, ProfileInfo, Status, TimingInfo
from tools.harness.sandbox import WorkerOutcome, describe_exit

# A phase's record and the result field it fills.
_FIELDS = {
    Phase.build: ("build", BuildInfo),
    Phase.check: ("check", CheckInfo),
    Phase.profile: ("profile", ProfileInfo),
    Phase.time: ("timing", TimingInfo),
}


def _set_phase(result: EvalResult, phase: str, data: dict) -> None:
    try:
        field, model = _FIELDS[Phase(phase)]
    except (ValueError, KeyError):
        return
    setattr(result, field, model.model_validate(data))


def fold(result: EvalResult, out: WorkerOutcome) -> None:
    """Fold one worker's records into the result: each finished phase's data, and the first failure
    (a phase's own verdict, a time limit, or the worker's death) as the status and reason."""
    result.setup_seconds += out.setup_seconds
    for rec in out.records:
        event = rec.get("event")
        if event == "end":
            _set_phase(result, str(rec.get("phase")), rec["data"])
        elif event == "fail":
            _fail(result, rec, out)
    if out.timed_out_phase:
        result.status = Status.timeout
        result.reason = f"{out.timed_out_phase} did not finish within {out.timeout_s:.0f} s (killed)"
        if out.timed_out_phase == Phase.build.value:
            result.build = BuildInfo(ok=False, seconds=out.timeout_s or 0, errors="build timed out")
    elif not out.finished:
        result.status = Status.crashed
        phase = next((r["phase"] for r in reversed(out.records) if r.get("event") == "start"), "setup")
        result.reason = f"{describe_exit(out.returncode)} during {phase}"
        result.log_tail = out.log_tail[-1500:]


def _fail(result: EvalResult, rec: dict, out: WorkerOutcome) -> None:
    result.status = Status(rec.get("status", Status.crashed.value))
    result.reason = str(rec.get("reason", ""))[:2000]
    for phase, data in (rec.get("data") or {}).items():
        _set_phase(result, phase, data)
    if result.status == Status.build_error and result.build and result.build.errors:
        result.reason = "build failed: " + result.build.errors.splitlines()[0][:300]
    if result.status == Status.crashed:
        result.log_tail = out.log_tail[-1500:]


def judge_speed_of_light(result: EvalResult, slack: float) -> None:
    """A time below the problem's floor on this device is physically impossible: the kernel skipped
    work or escaped the timer. `slack` < 1 allows for peak rates that are a little optimistic."""
    if result.status != Status.ok or not result.timing or not result.profile or not result.profile.floor_ms:
        return
    floor, measured = result.profile.floor_ms, result.timing.candidate.median_ms
    result.profile.sol_pct = 100.0 * floor / measured
    if measured < floor * slack:
        result.status = Status.rejected
        result.reason = (
            f"measured {measured:.4g} ms, below this device's speed-of-light floor of {floor:.4g} ms "
            f"({result.profile.bound}-bound): physically impossible, so the kernel skips work or "
            f"escapes the timer"
        )
