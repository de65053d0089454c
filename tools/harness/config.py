"""How candidates are evaluated: the harness's part of the settings. agent.settings.Settings includes
these fields, so each default lives here once; `agent eval` and the tests build one directly."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _default_build_jobs() -> int:
    # A load_inline build compiles two units (C++ and CUDA/HIP), so two jobs each keep the cores busy.
    return max(1, (os.cpu_count() or 2) // 2)


def _default_timeouts() -> dict[str, float]:
    return {
        "setup": 180.0,
        "build": 900.0,
        "check": 300.0,
        "profile": 180.0,
        "time": 300.0,
        "robust": 300.0,
        "baseline": 300.0,
        "replay": 180.0,  # the counters run under the vendor profiler: a new best waits for it
    }


class EvalConfig(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    platform: str | None = Field(None, description="rocm, cuda or cpu (default: detected from torch)")
    arch: str | None = Field(None, description="build target: gfx950, gfx942, sm_90a... (default: the device's)")
    cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "hipgenerator",
        description="builds, candidates and worker folders, shared by runs",
    )
    gpus: str | None = Field(None, description="device indices for evaluation lanes, e.g. 0,1 (default: all visible)")
    check_trials: int = Field(5, ge=1, description="fresh input sets a candidate must match")
    time_budget_s: float = Field(1.0, gt=0, description="seconds of timed calls per side, roughly")
    max_timing_trials: int = Field(100, ge=1)
    spares: int | None = Field(
        None,
        ge=1,
        description="worker processes kept imported ahead of need on a GPU "
        "(a run: one per thread, at most one per CPU core; alone: one per lane and one more)",
    )
    keep_spares: bool = Field(True, description="keep workers started and imported ahead of need")
    sandbox: bool = Field(
        True, description="run candidate code inside bubblewrap (tools.harness.jail); off only with --unsafe-no-sandbox"
    )
    build_jobs: int = Field(default_factory=_default_build_jobs, ge=1, description="builds at once")
    jobs_per_build: int = Field(2, ge=1)
    timeouts: dict[str, float] = Field(default_factory=_default_timeouts, description="seconds per worker phase")
    strict: bool = Field(
        False, description="count a fragile kernel (wrong on inputs beyond the benchmark's) as incorrect"
    )
    retime_at: float | None = Field(
        None,
        description="re-time in a fresh worker a candidate whose speedup reaches this, and keep that figure "
        "(a run and agent eval set it to --target)",
    )
    time_with_check: bool | None = Field(
        None,
        description="a check that passes goes on to profile and time in the same worker, and a later profile "
        "request is answered from it, so each candidate holds the device lane once (default: on GPU platforms)",
    )
    # Faster than the floor by more than this factor is impossible, so it is a measurement error or a cheat.
    floor_slack: float = Field(0.9, gt=0)
    # A timed call shorter than this fraction of the profiler's device time for the same calls was
    # timed by a clock the candidate reached (warm profiled calls run no slower than cold timed ones).
    device_time_slack: float = Field(0.9, gt=0)

    @field_validator("arch", "platform", mode="before")
    @classmethod
    def _empty_is_unset(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, v: str | None) -> str | None:
        from tools.platforms import names

        if v is not None and v not in names():
            raise ValueError(f"unknown platform '{v}': use {', '.join(names())}")
        return v

    @field_validator("gpus", mode="before")
    @classmethod
    def _gpu_list(cls, v):
        if v is None:
            return v
        parts = [p.strip() for p in str(v).split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
            raise ValueError(f"--gpus takes distinct device indices separated by commas, such as 0,1 (got '{v}')")
        return ",".join(parts)

    def devices(self) -> list[int] | None:
        return [int(p) for p in self.gpus.split(",")] if self.gpus else None
