"""What the agent's process sends to a worker process (on stdin) and reads back (on a private pipe,
one JSON record a line). Never the worker's stdout: candidate code can print anything there."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field


class Phase(str, Enum):
    """What a worker can be asked to do, in the order an evaluation runs them."""

    build = "build"  # import the candidate (load_inline compiles it)
    check = "check"  # outputs against the reference on fresh inputs
    profile = "profile"  # which kernels ran, whose they were, the speed-of-light floor
    time = "time"  # interleaved timing against the reference
    robust = "robust"  # inputs beyond the benchmark's; failing them marks the kernel fragile
    baseline = "baseline"  # the reference alone: its time and floor (no candidate)
    replay = "replay"  # a few candidate calls for an outside profiler to watch


Upto = Literal["build", "check", "profile"]
# The phases a tool's request runs, in order.
UPTO: dict[str, tuple[Phase, ...]] = {
    "build": (Phase.build,),
    "check": (Phase.build, Phase.check, Phase.robust),
    # robust last: a kernel that crashes on other inputs must not take its timing with it
    "profile": (Phase.build, Phase.check, Phase.profile, Phase.time, Phase.robust),
}


class WorkerRequest(BaseModel):
    problem_path: str
    candidate_path: str | None = None
    platform: str
    phases: list[Phase]
    channel_fd: int = -1
    check_seeds: list[int] = Field(default_factory=list)
    init_seed: int = 0
    timing_seed: int = 0
    tolerance: tuple[float, float] | None = None
    kernel_names: list[str] = Field(default_factory=list)
    time_budget_s: float = 1.0
    min_timing_trials: int = 10
    max_timing_trials: int = 100
    warmup: int = 3
    # A fresh worker times again a candidate whose speedup reaches this: the time phase stops as soon as
    # the speedup is surely there (see tools.harness.timing).
    decide_above: float | None = None
    flops: float | None = None  # the reference's FLOPs when already counted for this problem
    # A build from the candidate's load_inline arguments (source_extract.build_calls), run without
    # importing the candidate, so none of its Python runs while the shared build is made.
    build_calls: list[dict] | None = None
    # Where this evaluation's worker works and logs, and what of its environment a spare worker,
    # started before the evaluation existed, sets for itself (its build folder, its lane's device).
    workdir: str | None = None
    log_path: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
