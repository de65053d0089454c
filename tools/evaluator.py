"""The evaluation service: one per run. Static check in-process, builds in parallel subprocesses,
GPU phases through one exclusive lane per device, results cached by source so an identical kernel is
never built or measured twice."""
from __future__ import annotations

import hashlib
import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from pydantic import BaseModel, Field

from tools.errors import PlatformError
from tools.platforms import get_platform
from tools.problem import Problem
from tools.protocol import WorkerRequest
from tools.results import BuildInfo, CheckInfo, EvalResult, ProfileInfo, Status, TimingInfo
from tools.sandbox import WorkerOutcome, describe_exit, run_worker, scrubbed_env
from tools.source_extract import extract_sources
from tools.static_check import check_source

UPTO = {"build": ["build"], "check": ["build", "check"], "profile": ["build", "check", "profile", "time"]}


class EvalConfig(BaseModel):
    platform: str
    arch: str | None = None
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "hipgenerator")
    devices: list[int] | None = None      # None: the one default device (cpu, or GPU 0)
    check_trials: int = 5
    time_budget_s: float = 1.0
    max_timing_trials: int = 100
    build_jobs: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    timeouts: dict[str, float] = Field(default_factory=lambda: {
        "setup": 180.0, "build": 900.0, "check": 300.0, "profile": 180.0, "time": 300.0, "baseline": 300.0})
    # Faster than the floor by more than this factor is impossible, so it is a measurement error or a cheat.
    floor_slack: float = 0.9


def source_hash(source: str, platform: str, arch: str | None) -> str:
    import torch

    h = hashlib.sha256()
    for part in (source, platform, arch or "", torch.__version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def judge_speed_of_light(result: EvalResult, slack: float) -> None:
    """A time below the problem's floor on this device is physically impossible: the kernel skipped
    work or escaped the timer. `slack` < 1 allows for peak rates that are a little optimistic."""
    if result.status != Status.ok or not result.timing or not result.profile or not result.profile.floor_ms:
        return
    floor, measured = result.profile.floor_ms, result.timing.candidate.median_ms
    result.profile.sol_pct = 100.0 * floor / measured
    if measured < floor * slack:
        result.status = Status.rejected
        result.reason = (f"measured {measured:.4g} ms, below this device's speed-of-light floor of {floor:.4g} ms "
                         f"({result.profile.bound}-bound): physically impossible, so the kernel skips work or "
                         f"escapes the timer")


class Evaluator:
    def __init__(self, config: EvalConfig):
        self.config = config
        self.platform = get_platform(config.platform)
        self.platform.check_available()
        self.cache_dir = config.cache_dir.expanduser().resolve()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._lanes: queue.Queue = queue.Queue()
        for d in (config.devices if config.devices else [None]):
            self._lanes.put(d)
        self._builds = threading.Semaphore(config.build_jobs)
        self._results: dict[tuple[str, str], EvalResult] = {}  # (source+problem, upto) -> result
        self._hash_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._device: dict | None = None
        self._baselines: dict[str, dict] = {}

    # ---- device facts ----
    def device_info(self) -> dict:
        if self._device is None:
            env = scrubbed_env(self.platform.build_env(self.config.arch), self.cache_dir)
            first = self.config.devices[0] if self.config.devices else None
            env.update(self.platform.visible_devices_env(first))
            proc = subprocess.run([sys.executable, "-m", "tools.worker", "--probe", self.platform.name], env=env,
                                  cwd=self.cache_dir, capture_output=True, text=True, timeout=180)
            if proc.returncode != 0:
                raise PlatformError(f"Could not query the {self.platform.name} device: {proc.stderr.strip()[-300:]}")
            self._device = json.loads(proc.stdout.strip().splitlines()[-1])
        return self._device

    def _arch(self) -> str | None:
        if self.config.arch:
            return self.config.arch
        if self.platform.name == "cuda":
            return self.device_info().get("arch")
        return None

    def _env(self, device: int | None, build_dir: Path | None) -> dict[str, str]:
        env = scrubbed_env(self.platform.build_env(self._arch()), self.cache_dir / "home")
        env.update(self.platform.visible_devices_env(device))
        if build_dir is not None:
            env["TORCH_EXTENSIONS_DIR"] = str(build_dir)
        env.setdefault("MAX_JOBS", str(max(1, (os.cpu_count() or 2))))
        return env

    # ---- the reference alone ----
    def baseline(self, problem: Problem) -> dict:
        key = hashlib.sha256(problem.source.encode()).hexdigest()[:16]
        if key not in self._baselines:
            req = WorkerRequest(problem_path=str(problem.path), platform=self.platform.name, phases=["baseline"],
                                channel_fd=-1, init_seed=secrets.randbits(31), timing_seed=secrets.randbits(31),
                                time_budget_s=self.config.time_budget_s)
            lane = self._lanes.get()
            try:
                out = run_worker(req, env=self._env(lane, None), workdir=self.cache_dir / "runs" / f"baseline-{key}",
                                 timeouts=self.config.timeouts)
            finally:
                self._lanes.put(lane)
            rec = next((r for r in out.records if r.get("event") == "end"), None)
            if rec is None:
                fail = next((r for r in out.records if r.get("event") == "fail"), {})
                raise PlatformError(f"The reference of {problem.name} does not run: "
                                    f"{fail.get('reason') or describe_exit(out.returncode)}")
            self._baselines[key] = rec["data"]
        return self._baselines[key]

    # ---- a candidate ----
    def evaluate(self, problem: Problem, source: str, upto: str = "profile") -> EvalResult:
        h = source_hash(source, self.platform.name, self.config.arch)
        key = f"{h}:{hashlib.sha256(problem.source.encode()).hexdigest()[:16]}"
        with self._lock:
            lock = self._hash_locks.setdefault(h, threading.Lock())
        with lock:
            cached = self._cached(key, upto)
            if cached is None:
                cached = self._results[(key, upto)] = self._evaluate(problem, source, h, upto)
            return cached

    def _cached(self, key: str, upto: str) -> EvalResult | None:
        """A result that answers a request for `upto`: one at least as complete, or a less complete
        one that already failed."""
        order = ["build", "check", "profile"]
        want = order.index(upto)
        for level in order:
            r = self._results.get((key, level))
            if r is not None and (order.index(level) >= want or r.status != Status.ok):
                return r
        return None

    def _evaluate(self, problem: Problem, source: str, h: str, upto: str) -> EvalResult:
        t0 = time.monotonic()
        base = dict(source_hash=h, platform=self.platform.name, device=self.device_info().get("device_name", ""))
        violations = check_source(source, self.platform.name, problem.banned_ops)
        if violations:
            return EvalResult(status=Status.static_error, reason=f"source rules: {violations[0]}",
                              violations=violations, **base)
        extracted = extract_sources(source)
        cand_dir = self.cache_dir / "candidates"
        cand_dir.mkdir(parents=True, exist_ok=True)
        cand_path = cand_dir / f"{h}.py"
        if not cand_path.exists():
            tmp = cand_path.with_suffix(".tmp")
            tmp.write_text(source)
            os.replace(tmp, cand_path)
        build_dir = self.cache_dir / "extensions" / h
        build_dir.mkdir(parents=True, exist_ok=True)
        req = WorkerRequest(problem_path=str(problem.path), candidate_path=str(cand_path), platform=self.platform.name,
                            phases=[], channel_fd=-1, check_seeds=[secrets.randbits(31) for _ in range(self.config.check_trials)],
                            init_seed=secrets.randbits(31), timing_seed=secrets.randbits(31),
                            kernel_names=extracted.kernel_names, time_budget_s=self.config.time_budget_s,
                            max_timing_trials=self.config.max_timing_trials)
        result = EvalResult(status=Status.ok, **base)
        if not (build_dir / ".built").exists():
            with self._builds:
                out = run_worker(req.model_copy(update={"phases": ["build"]}), env=self._env(None, build_dir),
                                 workdir=self.cache_dir / "runs" / f"{h}-build", timeouts=self.config.timeouts)
            self._apply(result, out)
            if result.status != Status.ok:
                shutil.rmtree(build_dir, ignore_errors=True)  # a killed build leaves lock files behind
                result.wall_seconds = time.monotonic() - t0
                return result
        phases = ["build"] + UPTO[upto][1:]
        if len(phases) > 1 or result.build is None:
            lane = self._lanes.get()
            try:
                out = run_worker(req.model_copy(update={"phases": phases}), env=self._env(lane, build_dir),
                                 workdir=self.cache_dir / "runs" / f"{h}-{upto}", timeouts=self.config.timeouts)
            finally:
                self._lanes.put(lane)
            first_build = result.build
            self._apply(result, out)
            if first_build is not None and result.build is not None:
                result.build.seconds, result.build.cached = first_build.seconds, False
        judge_speed_of_light(result, self.config.floor_slack)
        if upto == "profile" and result.status == Status.ok and self.platform.name == "rocm":
            self._vendor_profile(req.model_copy(update={"phases": ["build", "profile"]}), build_dir, h, result,
                                 extracted.kernel_names)
        result.compiled = result.build is not None and result.build.ok
        result.correct = result.check is not None and result.check.passed and result.status in (Status.ok, Status.rejected)
        if result.status == Status.rejected:
            result.correct = False
        if result.timing and result.status == Status.ok:
            result.speedup = result.timing.speedup
        result.wall_seconds = time.monotonic() - t0
        return result

    def _vendor_profile(self, req: WorkerRequest, build_dir: Path, h: str, result: EvalResult,
                        kernel_names: list[str]) -> None:
        """Per-kernel registers, LDS, scratch and counters from rocprofv3 (or legacy rocprof), when
        installed. The run repeats the profile phase under the profiler; torch.profiler's view stays
        if the profiler leaves nothing to read."""
        from tools.rocprof import digest_run, digest_text, find_profiler, profiler_command

        profiler = find_profiler()
        if profiler is None:
            return
        out_dir = self.cache_dir / "runs" / f"{h}-rocprof"
        shutil.rmtree(out_dir, ignore_errors=True)
        lane = self._lanes.get()
        try:
            run_worker(req, env=self._env(lane, build_dir), workdir=out_dir, timeouts=self.config.timeouts,
                       prefix=profiler_command(profiler, out_dir, "cand"))
        finally:
            self._lanes.put(lane)
        d = digest_run(out_dir, "cand", kernel_names)
        if d is not None and d.kernels and result.profile is not None:
            result.profile.kernels, result.profile.own_share = list(d.kernels), d.own_share
            result.profile.vendor, result.profile.vendor_digest = d.source, digest_text(d)

    def _apply(self, result: EvalResult, out: WorkerOutcome) -> None:
        """Fold a worker's records into the result."""
        models = {"build": BuildInfo, "check": CheckInfo, "profile": ProfileInfo, "time": TimingInfo}
        for rec in out.records:
            ev = rec.get("event")
            if ev == "end" and rec.get("phase") in models:
                setattr(result, "timing" if rec["phase"] == "time" else rec["phase"],
                        models[rec["phase"]].model_validate(rec["data"]))
            elif ev == "fail":
                result.status = Status(rec.get("status", "crashed"))
                result.reason = str(rec.get("reason", ""))[:2000]
                for key, val in (rec.get("data") or {}).items():
                    if key in models:
                        setattr(result, "timing" if key == "time" else key, models[key].model_validate(val))
                if result.status == Status.build_error and result.build and result.build.errors:
                    result.reason = "build failed: " + result.build.errors.splitlines()[0][:300]
                if result.status == Status.crashed:
                    result.log_tail = out.log_tail[-1500:]
        if out.timed_out_phase:
            result.status = Status.timeout
            result.reason = f"{out.timed_out_phase} did not finish within {out.timeout_s:.0f} s (killed)"
            if out.timed_out_phase == "build":
                result.build = BuildInfo(ok=False, seconds=out.timeout_s or 0, errors="build timed out")
        elif not out.finished:
            result.status = Status.crashed
            phase = next((r["phase"] for r in reversed(out.records) if r.get("event") == "start"), "setup")
            result.reason = f"{describe_exit(out.returncode)} during {phase}"
            result.log_tail = out.log_tail[-1500:]
