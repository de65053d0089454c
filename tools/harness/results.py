"""What an evaluation returns: pydantic models that travel from the worker process to the agent, to
the tool messages the LLM reads, and to result_<n>.json on disk."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, SerializeAsAny, computed_field


class Status(str, Enum):
    ok = "ok"  # every requested phase passed
    static_error = "static_error"  # rejected by the source rules before running
    build_error = "build_error"
    incorrect = "incorrect"
    rejected = "rejected"  # ran and matched, but the measurement is not believable
    timeout = "timeout"
    crashed = "crashed"  # the worker died: segfault, illegal address, OOM, os._exit...
    not_run = "not_run"  # built, but nothing can run it here (compile-only: no device)


class Violation(BaseModel):
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: [{self.rule}] {self.message}"


class BuildInfo(BaseModel):
    ok: bool
    seconds: float = 0.0
    cached: bool = False
    errors: str = ""
    resources: str = Field("", description="registers, LDS, spills and occupancy per kernel, from the compiler")
    notes: list[str] = Field(default_factory=list, description="what the harness changed or ignored in the file")


class TrialCheck(BaseModel):
    trial: int
    passed: bool
    candidate_first: bool
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    rel_l2_err: float | None = None
    where: str = ""
    problem: str = ""


class CheckInfo(BaseModel):
    passed: bool
    trials: list[TrialCheck] = Field(default_factory=list)
    seconds: float = 0.0
    steps: dict[str, float] = Field(
        default_factory=dict,
        description="seconds per step (device, models, inputs, "
        "reference, poison, candidate, compare), summed over trials",
    )
    atol: float = 0.0
    rtol: float = 0.0
    flops: float | None = Field(default=None, description="the reference's FLOPs, counted once per problem")


class Timing(BaseModel):
    median_ms: float
    min_ms: float
    max_ms: float
    q25_ms: float
    q75_ms: float
    trials: int
    samples_ms: list[float] = Field(default_factory=list, description="every timed call's device ms, in order")

    @property
    def spread_pct(self) -> float:
        return 100.0 * (self.q75_ms - self.q25_ms) / self.median_ms if self.median_ms else 0.0


class TimingInfo(BaseModel):
    reference: Timing
    candidate: Timing
    speedup: float
    excess_gap_ms: float = Field(
        default=0.0, description="device busy after the candidate's stream finished, beyond the reference's"
    )
    stopped_by: str = Field(
        default="",
        description="what ended the timed pass: settled (both medians known to 1%), deadline, trials, or "
        "above target (the speedup surely reached the re-timing's target, so a fresh worker times it again)",
    )
    steps: dict[str, float] = Field(default_factory=dict, description="host seconds per step of the timed pass")
    seconds: float = 0.0


class KernelRecord(BaseModel):
    name: str
    calls: int
    total_us: float
    share: float = 0.0
    own: bool = Field(default=False, description="launched from the candidate's own source")


class ProfileInfo(BaseModel):
    # SerializeAsAny keeps the extra fields of vendor records (registers, LDS, counters) in JSON.
    kernels: list[SerializeAsAny[KernelRecord]] = Field(default_factory=list)
    vendor: str | None = Field(default=None, description="the vendor profiler that produced vendor_digest")
    vendor_digest: str = ""
    own_share: float = Field(default=0.0, description="fraction of device time in the candidate's own kernels")
    floor_ms: float | None = Field(default=None, description="speed-of-light time on this device")
    flops: float | None = None
    min_bytes: float | None = None
    sol_pct: float | None = Field(default=None, description="floor / candidate time, in percent")
    device_ms: float | None = Field(
        default=None, description="device busy time per call in the profiler's activity records (not the timer's)"
    )
    bound: str | None = None
    dtype: str | None = Field(default=None, description="the problem's main dtype, whose peak the floor used")
    seconds: float = 0.0


class RobustTrial(BaseModel):
    name: str
    describe: str
    passed: bool = True
    counted: bool = Field(default=True, description="False where the reference rejects the inputs or is mostly NaN")
    problem: str = ""


class RobustnessInfo(BaseModel):
    """Trials on inputs beyond the benchmark's (tools.harness.robustness). Failing one leaves the
    benchmark verdict as it is and marks the kernel fragile."""

    trials: list[RobustTrial] = Field(default_factory=list)
    seconds: float = 0.0
    steps: dict[str, float] = Field(default_factory=dict, description="seconds per step, summed over the trials")

    @property
    def failed(self) -> RobustTrial | None:
        return next((t for t in self.trials if t.counted and not t.passed), None)

    def failure(self) -> str:
        """What the kernel got wrong, in one line, or ''."""
        t = self.failed
        return f"wrong on {t.describe}: {t.problem}" if t else ""


class EvalResult(BaseModel):
    """An evaluation. `status` is the verdict (tools.harness.verdict sets it); compiled, correct and
    speedup follow from it and from the phases' records, here and nowhere else."""

    status: Status
    reason: str = ""
    source_hash: str = ""
    platform: str = ""
    device: str = ""
    violations: list[Violation] = Field(default_factory=list)
    build: BuildInfo | None = None
    check: CheckInfo | None = None
    timing: TimingInfo | None = None
    profile: ProfileInfo | None = None
    robustness: RobustnessInfo | None = None
    first_timing: TimingInfo | None = Field(
        default=None, description="the first worker's timing, where a re-timing in a fresh worker replaced it"
    )
    retime_seconds: float = Field(default=0.0, description="what the re-timing of a success cost")
    failed_phase: str | None = Field(default=None, description="the phase whose verdict the status is, when not ok")
    log_tail: str = Field(default="", description="the end of the worker's stdout/stderr, for a crash")
    wall_seconds: float = 0.0
    setup_seconds: float = Field(
        default=0.0,
        description="waiting for worker processes to start and import, summed over this evaluation's workers",
    )

    @computed_field
    @property
    def compiled(self) -> bool:
        return self.build is not None and self.build.ok

    @computed_field
    @property
    def correct(self) -> bool:
        """Passed the check, and nothing after it (profile, timing, the speed-of-light floor) rejected it."""
        return self.check is not None and self.check.passed and self.status == Status.ok

    @computed_field
    @property
    def fragile(self) -> bool:
        """Correct on the benchmark's inputs, wrong on others (tools.harness.robustness)."""
        return self.check is not None and self.check.passed and bool(self.robustness and self.robustness.failed)

    @computed_field
    @property
    def speedup(self) -> float | None:
        return self.timing.speedup if self.timing is not None and self.status == Status.ok else None


class Best(BaseModel):
    """The best candidate of a thread so far: its number, speedup (None until timed) and source."""

    n: int
    speedup: float | None = None
    source_hash: str = Field("", validation_alias=AliasChoices("source_hash", "hash"))
    correct: bool = True
    sol_pct: float | None = Field(None, description="its speed-of-light percentage, once profiled")
    bound: str | None = Field(None, description="what bounds its floor: memory or compute")
    bottleneck: str | None = Field(None, description="the counters' diagnosis, where they were read")


def score(result: Any) -> float | None:
    """How candidates rank, live (EvalResult, Best) or read back from disk (a dict): None when not
    correct, else the speedup, 0 while untimed."""
    get = result.get if isinstance(result, dict) else lambda key: getattr(result, key, None)
    if result is None or not get("correct"):
        return None
    return float(get("speedup") or 0.0)


def improves(result: Any, best: Any) -> bool:
    """Whether `result` is a better candidate than `best` (None: there is none yet)."""
    new = score(result)
    return new is not None and (best is None or new > (score(best) or 0.0))


def best_of(results: list) -> Any:
    """The best of several results (the first of equals), or None when none is correct."""
    best = None
    for r in results:
        if improves(r, best):
            best = r
    return best
