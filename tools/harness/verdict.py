"""Where a candidate's verdict is decided: the worker's records folded into its EvalResult, and the
speed-of-light rule. The result's compiled, correct and speedup follow from the status it leaves
(tools.harness.results.EvalResult)."""

from __future__ import annotations

from tools.harness.protocol import Phase
from tools.harness.results import (
    BuildInfo,
    CheckInfo,
    EvalResult,
    ProfileInfo,
    RobustnessInfo,
    RobustTrial,
    Status,
    TimingInfo,
)
from tools.harness.sandbox import WorkerOutcome, describe_exit

# A phase's record and the result field it fills.
_FIELDS = {
    Phase.build: ("build", BuildInfo),
    Phase.check: ("check", CheckInfo),
    Phase.profile: ("profile", ProfileInfo),
    Phase.time: ("timing", TimingInfo),
    Phase.robust: ("robustness", RobustnessInfo),
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
    if out.timed_out_phase == Phase.robust.value or (
        not out.finished and not out.timed_out_phase and _last_started(out) == Phase.robust.value
    ):
        _robust_died(result, out)
    elif out.timed_out_phase:
        result.status, result.failed_phase = Status.timeout, out.timed_out_phase
        result.reason = f"{out.timed_out_phase} did not finish within {out.timeout_s:.0f} s (killed)"
        if out.timed_out_phase == Phase.build.value:
            result.build = BuildInfo(ok=False, seconds=out.timeout_s or 0, errors="build timed out")
    elif not out.finished:
        result.status = Status.crashed
        phase = _last_started(out) or "setup"
        result.failed_phase = phase
        result.reason = f"{describe_exit(out.returncode)} during {phase}"
        result.log_tail = out.log_tail[-1500:]


def _last_started(out: WorkerOutcome) -> str | None:
    return next((r["phase"] for r in reversed(out.records) if r.get("event") == "start"), None)


def _robust_died(result: EvalResult, out: WorkerOutcome) -> None:
    """The worker died or hung on an input beyond the benchmark's: the benchmark verdict stands (those
    phases finished before), and the input it died on makes the kernel fragile."""
    note = next((r.get("data") or {} for r in reversed(out.records) if r.get("event") == "note"), {})
    how = f"no result within {out.timeout_s:.0f} s (killed)" if out.timed_out_phase else describe_exit(out.returncode)
    trial = RobustTrial(
        name=str(note.get("trial", "robust")),
        describe=str(note.get("describe", "inputs beyond the benchmark's")),
        passed=False,
        problem=how,
    )
    result.robustness = RobustnessInfo(trials=[trial])
    result.log_tail = out.log_tail[-1500:]


def _fail(result: EvalResult, rec: dict, out: WorkerOutcome) -> None:
    result.status = Status(rec.get("status", Status.crashed.value))
    result.failed_phase = str(rec.get("phase") or "") or None
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
        result.status, result.failed_phase = Status.rejected, Phase.time.value
        result.reason = (
            f"measured {measured:.4g} ms, below this device's speed-of-light floor of {floor:.4g} ms "
            f"({result.profile.bound}-bound): physically impossible, so the kernel skips work or "
            f"escapes the timer"
        )


def judge_device_time(result: EvalResult, slack: float) -> None:
    """The timed median may not be shorter than the kernels' own device time for the same calls, as the
    profiler's activity records give it: those come from the driver, apart from every clock and event
    the timing reads, so a patched timer shows up as a gap between the two."""
    if result.status != Status.ok or not result.timing or not result.profile or not result.profile.device_ms:
        return
    device, measured = result.profile.device_ms, result.timing.candidate.median_ms
    # 10 us: the profiler's records of a short kernel carry its own overhead (honest kernels have timed
    # at 0.94-1.02 of their profiled device time)
    if measured + 0.01 < device * slack:
        result.status, result.failed_phase = Status.rejected, Phase.time.value
        result.reason = (
            f"timed at {measured:.4g} ms per call, but the profiler's activity records show the device busy "
            f"{device:.4g} ms per call running it: the timing was tampered with (a patched clock, event or "
            f"synchronisation), so the candidate modified the timers"
        )


def judge_fragile(result: EvalResult, strict: bool) -> None:
    """--strict: a kernel wrong on inputs beyond the benchmark's counts as incorrect."""
    if strict and result.status == Status.ok and result.fragile:
        result.status = Status.incorrect
        result.reason = f"fragile (--strict): {result.robustness.failure()}"


def check_view(full: EvalResult, strict: bool) -> EvalResult:
    """What a check request answers from an evaluation that went on to profile and time in the same
    worker: its build, check and robustness, and the check's own verdict (a failure after a passing
    check, in the profile or the timing, is the profile request's to report)."""
    view = full.model_copy(
        deep=True, update={"timing": None, "profile": None, "first_timing": None, "retime_seconds": 0.0}
    )
    after_check = view.failed_phase in (Phase.profile.value, Phase.time.value)
    if view.check is not None and view.check.passed and view.status != Status.ok and after_check:
        view.status, view.reason, view.log_tail, view.failed_phase = Status.ok, "", "", None
        judge_fragile(view, strict)
    return view
