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
import weakref
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from tools.errors import PlatformError
from tools.platforms import get_platform
from tools.problem import Problem
from tools.harness.protocol import WorkerRequest
from tools.harness.results import BuildInfo, CheckInfo, EvalResult, ProfileInfo, Status, TimingInfo
from tools.harness.sandbox import WorkerOutcome, describe_exit, run_worker, scrubbed_env
from tools.harness.spares import SparePool, Started, discard
from tools.harness.source_extract import extract_sources
from tools.harness.static_check import check_source

UPTO = {"build": ["build"], "check": ["build", "check"], "profile": ["build", "check", "profile", "time"]}


class EvalConfig(BaseModel):
    platform: str
    arch: str | None = None
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "hipgenerator")
    devices: list[int] | None = None      # None: every visible GPU (the one CPU on the cpu platform)
    check_trials: int = 5
    time_budget_s: float = 1.0
    max_timing_trials: int = 100
    # A load_inline build compiles two units (C++ and CUDA/HIP), so two jobs each keep the cores busy.
    build_jobs: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2))
    jobs_per_build: int = 2
    lane_log: Path | None = None          # one JSON line per busy interval of a device lane
    timeouts: dict[str, float] = Field(default_factory=lambda: {
        "setup": 180.0, "build": 900.0, "check": 300.0, "profile": 180.0, "time": 300.0, "baseline": 300.0,
        "replay": 600.0})
    # Faster than the floor by more than this factor is impossible, so it is a measurement error or a cheat.
    floor_slack: float = 0.9
    spare_workers: bool = True            # keep workers started and imported ahead of need
    spares: int | None = None             # how many wait on a GPU (a run: one per thread); None: lanes + 1


def source_hash(source: str, platform: str, arch: str | None) -> str:
    import torch

    h = hashlib.sha256()
    for part in (source, platform, arch or "", torch.__version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def build_hash(source: str, build_key: str | None, platform: str, arch: str | None) -> str:
    """The build folder's name: what the compiler sees (the load_inline arguments) when the source
    shows it plainly, else the whole file. Candidates that differ only in Python share one build."""
    return "b" + source_hash(build_key if build_key is not None else "file\0" + source, platform, arch)


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
        (self.cache_dir / "home").mkdir(exist_ok=True)  # workers', compilers' and profilers' HOME and TMPDIR
        self._lanes: queue.Queue | None = None
        self.lane_busy_s: dict[str, float] = {}
        self._builds = threading.Semaphore(config.build_jobs)
        self._results: dict[tuple[str, str], EvalResult] = {}  # (source+problem, upto) -> result
        self._hash_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._lane_lock = threading.Lock()
        self._device: dict | None = None
        self._baselines: dict[str, dict] = {}
        self._flops: dict[str, float] = {}  # per problem, once any worker has counted them
        # On a GPU the next spare starts while the current worker runs (it touches no device); on the
        # cpu platform the CPU is what is being timed, so it starts afterwards.
        self.spares = (SparePool(self.cache_dir / "runs" / "spares", early=self.platform.device_type != "cpu")
                       if config.spare_workers else None)
        if self.spares is not None:
            weakref.finalize(self, self.spares.close)

    def close(self) -> None:
        """Stop the waiting spare workers (also done when the evaluator is collected or the process exits)."""
        if self.spares is not None:
            self.spares.close()

    def _run(self, req: WorkerRequest, env: dict[str, str], workdir: Path, prefix: list[str] | None = None,
             started: Started | None = None) -> WorkerOutcome:
        return run_worker(req, env=env, workdir=workdir, timeouts=self.config.timeouts, prefix=prefix,
                          spares=self.spares, started=started)

    def _run_on_lane(self, req: WorkerRequest, build_dir: Path | None, workdir: Path,
                     what: str, problem: str) -> WorkerOutcome:
        """Run a worker on a device lane. On a GPU the worker is taken from the spares and waited for
        first, and only then a lane: no GPU sits idle while a worker imports torch."""
        started = None
        if self.spares is not None and self.spares.early:
            self.spares.depth = self.spare_depth()
            started = self.spares.take_ready(self._env(None, build_dir), self.config.timeouts["setup"])
        try:
            with self._lane(what, problem, req.phases, started.ready_wait if started else 0.0) as lane:
                return self._run(req, self._env(lane, build_dir), workdir, started=started)
        except BaseException:
            if started is not None:
                discard(started)
            raise

    def start_spares(self) -> None:
        """Start the GPU spares now rather than at the first evaluation, so that their imports overlap
        the device probe and the model's first turn. Their environment leaves out what each request
        sets (device, build folder, build target), so nothing here needs the probe's answer unless the
        depth does (no `spares` given and no devices named)."""
        if self.spares is not None and self.spares.early:
            self.spares.depth = self.spare_depth()
            self.spares.replenish(self._worker_env({}))

    def spare_depth(self) -> int:
        """Spares kept waiting on a GPU. An evaluation that finds none waits for a worker's imports (about
        3 s on the H100 machines; lanes.jsonl records each wait as worker_wait): a run whose evaluations
        come in bursts (a scripted model) wants one per thread (agent.settings), at about 0.6 GiB of host
        memory each."""
        return self.config.spares if self.config.spares is not None else len(self.lanes()) + 1

    # ---- device facts ----
    def device_info(self) -> dict:
        """The first lane's device, described by a subprocess that sees every device (so the count is
        the machine's) and keeps CUDA/HIP out of this process."""
        if self._device is None:
            env = scrubbed_env(self.platform.build_env(self.config.arch), self.cache_dir)
            first = self.config.devices[0] if self.config.devices else 0
            proc = subprocess.run([sys.executable, "-m", "tools.harness.worker", "--probe", self.platform.name, str(first)],
                                  env=env, cwd=self.cache_dir, capture_output=True, text=True, timeout=180)
            if proc.returncode != 0:
                count = self._count_hint(proc.stderr)
                raise PlatformError(f"Could not query the {self.platform.name} device {first}{count}: "
                                    f"{proc.stderr.strip().splitlines()[-1][-300:] if proc.stderr.strip() else 'no output'}")
            self._device = json.loads(proc.stdout.strip().splitlines()[-1])
            self._check_devices(self._device.get("device_count", 0))
        return self._device

    @staticmethod
    def _count_hint(stderr: str) -> str:
        return " (is that index beyond the GPUs this machine has?)" if "invalid device" in stderr.lower() else ""

    def _check_devices(self, count: int) -> None:
        wanted = self.config.devices or []
        if self.platform.name == "cpu" and wanted:
            raise PlatformError("--gpus does not apply to the cpu platform: leave it out, or pick --platform cuda or rocm.")
        beyond = [d for d in wanted if d >= count]
        if beyond and self.platform.name != "cpu":
            raise PlatformError(f"--gpus asks for device {beyond[0]}, but this machine shows {count} GPU(s) "
                                f"(indices 0-{count - 1}): pick from those.")

    def lanes(self) -> list[int | None]:
        """One lane per device: the GPUs asked for, else every visible GPU; None is the default device."""
        if self.config.devices:
            return list(self.config.devices)
        count = self.device_info().get("device_count", 0) if self.platform.name != "cpu" else 0
        return list(range(count)) if count > 1 else [None]

    @contextmanager
    def _lane(self, what: str, problem: str, phases: list[str], worker_wait: float = 0.0):
        """Exclusive use of one device while a worker runs on it, logged as a busy interval with what the
        evaluation waited for first: its worker's imports, then the lane."""
        with self._lane_lock:
            if self._lanes is None:
                self._lanes = queue.Queue()
                for d in self.lanes():
                    self._lanes.put(d)
        asked = time.time()
        lane = self._lanes.get()
        start = time.time()
        try:
            yield lane
        finally:
            end = time.time()
            self._lanes.put(lane)
            name = "default" if lane is None else str(lane)
            with self._lane_lock:
                self.lane_busy_s[name] = self.lane_busy_s.get(name, 0.0) + end - start
                if self.config.lane_log is not None:
                    with open(self.config.lane_log, "a") as f:
                        f.write(json.dumps({"lane": name, "start": round(start, 3), "end": round(end, 3),
                                            "problem": problem, "source_hash": what, "phases": phases,
                                            "worker_wait": round(worker_wait, 3),
                                            "lane_wait": round(start - asked, 3)}) + "\n")

    def _arch(self) -> str | None:
        if self.config.arch:
            return self.config.arch
        if self.platform.name == "cuda":
            return self.device_info().get("arch")
        return None

    def _env(self, device: int | None, build_dir: Path | None) -> dict[str, str]:
        env = self._worker_env(self.platform.build_env(self._arch()))
        env.update(self.platform.visible_devices_env(device))
        if build_dir is not None:
            env["TORCH_EXTENSIONS_DIR"] = str(build_dir)
        return env

    def _worker_env(self, build: dict[str, str]) -> dict[str, str]:
        env = scrubbed_env(build, self.cache_dir / "home")
        env.setdefault("MAX_JOBS", str(self.config.jobs_per_build))
        return env

    # ---- the reference alone ----
    @staticmethod
    def _problem_key(problem: Problem) -> str:
        return hashlib.sha256(problem.source.encode()).hexdigest()[:16]

    def baseline(self, problem: Problem) -> dict:
        key = self._problem_key(problem)
        with self._lock:
            lock = self._hash_locks.setdefault(f"baseline-{key}", threading.Lock())
        with lock:
            return self._baseline(problem, key)

    def _baseline(self, problem: Problem, key: str) -> dict:
        if key not in self._baselines:
            req = WorkerRequest(problem_path=str(problem.path), platform=self.platform.name, phases=["baseline"],
                                channel_fd=-1, init_seed=secrets.randbits(31), timing_seed=secrets.randbits(31),
                                time_budget_s=self.config.time_budget_s)
            out = self._run_on_lane(req, None, self.cache_dir / "runs" / f"baseline-{key}", f"baseline-{key}", problem.name)
            rec = next((r for r in out.records if r.get("event") == "end"), None)
            if rec is None:
                fail = next((r for r in out.records if r.get("event") == "fail"), {})
                raise PlatformError(f"The reference of {problem.name} does not run: "
                                    f"{fail.get('reason') or describe_exit(out.returncode)}")
            self._baselines[key] = rec["data"]
            if rec["data"].get("flops") is not None:
                self._flops[key] = rec["data"]["flops"]
        return self._baselines[key]

    # ---- a candidate ----
    def evaluate(self, problem: Problem, source: str, upto: str = "profile") -> EvalResult:
        h = source_hash(source, self.platform.name, self.config.arch)
        key = f"{h}:{self._problem_key(problem)}"
        with self._lock:
            lock = self._hash_locks.setdefault(h, threading.Lock())
        with lock:
            cached = self._cached(key, upto)
            if cached is None:
                checked = self._results.get((key, "check"))
                checked = checked if checked is not None and checked.status == Status.ok else None
                cached = self._results[(key, upto)] = self._evaluate(problem, source, h, upto, checked)
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

    def _evaluate(self, problem: Problem, source: str, h: str, upto: str,
                  checked: EvalResult | None = None) -> EvalResult:
        """`checked`: this evaluator's passing check of the same source and problem, which a profile
        request reuses instead of checking again."""
        t0 = time.monotonic()
        pkey = self._problem_key(problem)
        base = dict(source_hash=h, platform=self.platform.name, device=self.device_info().get("device_name", ""))
        violations = check_source(source, self.platform.name, problem.banned_ops)
        if violations:
            return EvalResult(status=Status.static_error, reason=f"source rules: {violations[0]}",
                              violations=violations, **base)
        extracted = extract_sources(source)
        cand_path = self._candidate_file(h)
        if not cand_path.exists():
            cand_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = cand_path.with_suffix(".tmp")
            tmp.write_text(source)
            os.replace(tmp, cand_path)
        build_dir = self._build_dir(source, extracted)
        req = WorkerRequest(problem_path=str(problem.path), candidate_path=str(cand_path), platform=self.platform.name,
                            phases=[], channel_fd=-1, check_seeds=[secrets.randbits(31) for _ in range(self.config.check_trials)],
                            init_seed=secrets.randbits(31), timing_seed=secrets.randbits(31),
                            kernel_names=extracted.kernel_names, time_budget_s=self.config.time_budget_s,
                            max_timing_trials=self.config.max_timing_trials,
                            flops=self._flops.get(pkey))
        result = EvalResult(status=Status.ok, **base)
        with self._lock:
            build_lock = self._hash_locks.setdefault(build_dir.name, threading.Lock())
        with build_lock:
            if not (build_dir / ".built").exists():
                build_dir.mkdir(parents=True, exist_ok=True)
                with self._builds:
                    out = self._run(req.model_copy(update={"phases": ["build"]}), self._env(None, build_dir),
                                    self.cache_dir / "runs" / f"{h}-build")
                self._apply(result, out)
                if result.status != Status.ok:
                    shutil.rmtree(build_dir, ignore_errors=True)  # a killed build leaves lock files behind
                    result.wall_seconds = time.monotonic() - t0
                    return result
        phases = ["build"] + UPTO[upto][1:]
        if checked is not None and "check" in phases:
            phases.remove("check")
        if phases == ["build"] and result.build is None:
            # A build made earlier (by a candidate with the same native code) still has to import; that
            # needs no device to itself, so it does not wait for or hold a lane.
            out = self._run(req.model_copy(update={"phases": phases}), self._env(self.lanes()[0], build_dir),
                            self.cache_dir / "runs" / f"{h}-{upto}")
            self._apply(result, out)
        elif len(phases) > 1:
            out = self._run_on_lane(req.model_copy(update={"phases": phases}), build_dir,
                                    self.cache_dir / "runs" / f"{h}-{upto}", h, problem.name)
            first_build = result.build
            self._apply(result, out)
            if checked is not None and result.check is None:
                result.check = checked.check
            if first_build is not None and result.build is not None:
                result.build.seconds, result.build.cached = first_build.seconds, False
        for info in (result.check, result.profile):
            if info is not None and info.flops is not None:
                self._flops.setdefault(pkey, info.flops)
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

    def _candidate_file(self, h: str) -> Path:
        return self.cache_dir / "candidates" / f"{h}.py"

    def _build_dir(self, source: str, extracted) -> Path:
        return self.cache_dir / "extensions" / build_hash(source, extracted.build_key, self.platform.name,
                                                          self.config.arch)

    # ---- hardware counters, when the model asks ----
    def counters(self, problem: Problem, source: str) -> tuple[str, dict]:
        """The vendor profiler's counters for the candidate's own kernels (ncu on NVIDIA, rocprofv3 on
        AMD), over a few calls of the candidate alone. (text for the model, data for the record)"""
        from tools.harness.profilers.rocm_counters import rocm_counters
        from tools.harness.profilers.ncu import cuda_counters

        if self.platform.name == "cpu":
            return "counters: there are no hardware counters on the cpu platform.", {}
        h = source_hash(source, self.platform.name, self.config.arch)
        extracted = extract_sources(source)
        build_dir, cand_path = self._build_dir(source, extracted), self._candidate_file(h)
        if not (build_dir / ".built").exists() or not cand_path.exists():
            return "counters: profile_kernel this candidate first (it has not been built).", {}
        req = WorkerRequest(problem_path=str(problem.path), candidate_path=str(cand_path), platform=self.platform.name,
                            phases=["build", "replay"], channel_fd=-1, init_seed=secrets.randbits(31),
                            timing_seed=secrets.randbits(31), kernel_names=extracted.kernel_names)

        def run(prefix: list[str], workdir: Path) -> WorkerOutcome:
            with self._lane(h, problem.name, ["replay"]) as lane:
                return self._run(req, self._env(lane, build_dir), workdir, prefix)

        collect = cuda_counters if self.platform.name == "cuda" else rocm_counters
        return collect(run, self.cache_dir / "runs" / f"{h}-counters", extracted.kernel_names)

    def _vendor_profile(self, req: WorkerRequest, build_dir: Path, h: str, result: EvalResult,
                        kernel_names: list[str]) -> None:
        """Per-kernel registers, LDS, scratch and counters from rocprofv3 (or legacy rocprof), when
        installed. The run repeats the profile phase under the profiler; torch.profiler's view stays
        if the profiler leaves nothing to read."""
        from tools.harness.profilers.rocprof import digest_run, digest_text, find_profiler, profiler_command

        profiler = find_profiler()
        if profiler is None:
            return
        out_dir = self.cache_dir / "runs" / f"{h}-rocprof"
        shutil.rmtree(out_dir, ignore_errors=True)
        with self._lane(h, Path(req.problem_path).stem, ["profile"]) as lane:
            self._run(req, self._env(lane, build_dir), out_dir, profiler_command(profiler, out_dir, "cand"))
        d = digest_run(out_dir, "cand", kernel_names)
        if d is not None and d.kernels and result.profile is not None:
            result.profile.kernels, result.profile.own_share = list(d.kernels), d.own_share
            result.profile.vendor, result.profile.vendor_digest = d.source, digest_text(d)

    def _apply(self, result: EvalResult, out: WorkerOutcome) -> None:
        """Fold a worker's records into the result."""
        models = {"build": BuildInfo, "check": CheckInfo, "profile": ProfileInfo, "time": TimingInfo}
        result.setup_seconds += out.setup_seconds
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
