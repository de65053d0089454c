"""What the agent's process sends to a worker process (on stdin) and reads back (on a private pipe,
one JSON record a line). Never the worker's stdout: candidate code can print anything there."""
from __future__ import annotations

from pydantic import BaseModel, Field

PHASES = ("build", "check", "profile", "time")


class WorkerRequest(BaseModel):
    problem_path: str
    candidate_path: str | None = None
    platform: str
    phases: list[str]
    channel_fd: int
    check_seeds: list[int] = Field(default_factory=list)
    init_seed: int = 0
    timing_seed: int = 0
    tolerance: tuple[float, float] | None = None
    kernel_names: list[str] = Field(default_factory=list)
    time_budget_s: float = 1.0
    min_timing_trials: int = 10
    max_timing_trials: int = 100
    warmup: int = 3
    flops: float | None = None             # the reference's FLOPs when already counted for this problem
    # Where this evaluation's worker works and logs, and what of its environment a spare worker,
    # started before the evaluation existed, sets for itself (its build folder, its lane's device).
    workdir: str | None = None
    log_path: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
