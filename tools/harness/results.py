"""What an evaluation returns: pydantic models that travel from the worker process to the agent, to
the tool messages the LLM reads, and to result_<n>.json on disk."""
from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field, SerializeAsAny


class Status(str, Enum):
    ok = "ok"                          # every requested phase passed
    static_error = "static_error"      # rejected by the source rules before running
    build_error = "build_error"
    incorrect = "incorrect"
    rejected = "rejected"              # ran and matched, but the measurement is not believable
    timeout = "timeout"
    crashed = "crashed"                # the worker died: segfault, illegal address, OOM, os._exit...


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
    steps: dict[str, float] = Field(default_factory=dict, description="seconds per step (device, models, inputs, "
                                    "reference, poison, candidate, compare), summed over trials")
    atol: float = 0.0
    rtol: float = 0.0
    flops: float | None = Field(default=None, description="the reference's FLOPs, counted once per problem")

    @property
    def passed_count(self) -> int:
        return sum(t.passed for t in self.trials)


class Timing(BaseModel):
    median_ms: float
    min_ms: float
    max_ms: float
    q25_ms: float
    q75_ms: float
    trials: int

    @property
    def spread_pct(self) -> float:
        return 100.0 * (self.q75_ms - self.q25_ms) / self.median_ms if self.median_ms else 0.0


class TimingInfo(BaseModel):
    reference: Timing
    candidate: Timing
    speedup: float
    excess_gap_ms: float = Field(default=0.0, description="device busy after the candidate's stream finished, beyond the reference's")
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
    bound: str | None = None
    seconds: float = 0.0


class EvalResult(BaseModel):
    status: Status
    reason: str = ""
    compiled: bool = False
    correct: bool = False
    speedup: float | None = None
    source_hash: str = ""
    platform: str = ""
    device: str = ""
    violations: list[Violation] = Field(default_factory=list)
    build: BuildInfo | None = None
    check: CheckInfo | None = None
    timing: TimingInfo | None = None
    profile: ProfileInfo | None = None
    log_tail: str = Field(default="", description="the end of the worker's stdout/stderr, for a crash")
    wall_seconds: float = 0.0
    setup_seconds: float = Field(default=0.0, description="waiting for worker processes to start and import, "
                                 "summed over this evaluation's workers")

    @property
    def timed(self) -> bool:
        return self.timing is not None
