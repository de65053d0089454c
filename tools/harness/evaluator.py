"""The evaluation service: one per run. Static check in-process, builds in parallel subprocesses, GPU
phases through one exclusive lane per device, results cached by source so an identical kernel is never
built or measured twice. What the verdict is, is decided in tools.harness.verdict."""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from pathlib import Path

from tools.errors import PlatformError
from tools.harness import device, verdict
from tools.harness.compiler_env import strip_compiler_settings
from tools.harness.config import EvalConfig
from tools.harness.jail import Jail
from tools.harness.lanes import Lanes
from tools.harness.launcher import Launcher
from tools.harness.protocol import UPTO, Phase, Upto, WorkerRequest
from tools.harness.result_cache import NamedLocks, ResultCache
from tools.harness.results import EvalResult, Status
from tools.harness.sandbox import BuildFolder, describe_exit, scrubbed_env
from tools.harness.slot import BUILT
from tools.harness.source_extract import ExtensionSources, extract_sources
from tools.harness.static_check import check_source
from tools.harness.workspace import Workspace, build_hash, source_hash, text_key
from tools.platforms import get_platform
from tools.problem import Problem


class Evaluator:
    compile_only = False  # kernels are run: checked, timed, profiled

    def __init__(self, config: EvalConfig, lane_log: Path | None = None):
        self.config = config
        self.platform = get_platform(config.platform)
        self.platform.check_available()
        self.workspace = Workspace(config.cache_dir)
        self.jail = Jail(self.platform.sandbox_devices(), readonly=[self.workspace.headers]) if config.sandbox else None
        self.lanes = Lanes(self.lane_devices, lane_log)
        self.launcher = Launcher(
            config,
            self.platform,
            self.workspace,
            self.lanes,
            self.build_env,
            lambda: len(self.lane_devices()),
            self.jail,
        )
        self._builds = threading.Semaphore(config.build_jobs)
        self._cache = ResultCache()
        self._locks = NamedLocks()
        self._device: dict | None = None
        self._build_env: dict[str, str] | None = None
        self._arch: list[str | None] = []  # [resolved build target] once known
        self._baselines: dict[str, dict] = {}
        self._flops: dict[str, float] = {}  # per problem, once any worker has counted them

    @property
    def spares(self):
        return self.launcher.spares

    def close(self) -> None:
        """Stop the waiting spare workers (also done when the evaluator is collected or the process exits)."""
        self.launcher.close()

    def start_spares(self) -> None:
        self.launcher.start_spares()

    def spare_depth(self) -> int:
        return self.launcher.spare_depth()

    # ---- the device and the build target ----
    def device_info(self) -> dict:
        """The first lane's device, described by a subprocess (CUDA/HIP stay out of this process)."""
        if self._device is None:
            env = scrubbed_env(self.platform.build_env(self.config.arch), self.workspace.root)
            wanted = self.config.devices()
            info = device.probe(self.platform, wanted[0] if wanted else 0, env, self.workspace.root)
            device.lane_devices(self.platform, wanted, info.get("device_count", 0))
            self._device = info
        return self._device

    def lane_devices(self) -> list[int | None]:
        """One lane per device: the GPUs asked for, else every visible GPU; None is the default device."""
        return device.lane_devices(self.platform, self.config.devices(), self.device_info().get("device_count", 0))

    def arch(self) -> str | None:
        """The build target: the user's, else the platform's choice (the device's, on NVIDIA)."""
        if not self._arch:
            self._arch.append(self.platform.build_arch(self.config.arch, self.device_info))
        return self._arch[0]

    def build_env(self) -> dict[str, str]:
        if self._build_env is None:
            self._build_env = self.platform.build_env(self.arch())
        return self._build_env

    def source_hash(self, source: str) -> str:
        return source_hash(source, self.platform.name, self.arch())

    def _build_dir(self, source: str, extracted: ExtensionSources) -> Path:
        name = build_hash(source, extracted.build_key, self.platform.name, self.arch(), self.jail is not None)
        return self.workspace.build_dir(name)

    def build_dir(self, source: str) -> Path:
        """The cache entry that holds (or will hold) this candidate's build."""
        return self._build_dir(source, extract_sources(source))

    def _request(self, problem: Problem, phases: list[Phase], **fields) -> WorkerRequest:
        return WorkerRequest(
            problem_path=str(problem.path),
            platform=self.platform.name,
            phases=phases,
            init_seed=secrets.randbits(31),
            timing_seed=secrets.randbits(31),
            time_budget_s=self.config.time_budget_s,
            max_timing_trials=self.config.max_timing_trials,
            **fields,
        )

    # ---- the reference alone ----
    def baseline(self, problem: Problem) -> dict:
        key = text_key(problem.source)
        with self._locks(f"baseline-{key}"):
            if key not in self._baselines:
                req = self._request(problem, [Phase.baseline])
                out = self.launcher.run_on_lane(
                    req, None, self.workspace.run_dir(f"baseline-{key}"), f"baseline-{key}", problem.name
                )
                rec = next((r for r in out.records if r.get("event") == "end"), None)
                if rec is None:
                    fail = next((r for r in out.records if r.get("event") == "fail"), {})
                    raise PlatformError(
                        f"The reference of {problem.name} does not run: "
                        f"{fail.get('reason') or describe_exit(out.returncode)}"
                    )
                self._baselines[key] = rec["data"]
                if rec["data"].get("flops") is not None:
                    self._flops[key] = rec["data"]["flops"]
            return self._baselines[key]

    # ---- a candidate ----
    def evaluate(self, problem: Problem, source: str, upto: Upto = "profile") -> EvalResult:
        h = self.source_hash(source)
        key = f"{h}:{text_key(problem.source)}"
        with self._locks(h):
            cached = self._cache.answer(key, upto)
            if cached is None:
                checked = self._cache.passed_check(key)
                if upto == "check" and checked is None and self._time_with_check():
                    full = self._cache.put(key, "profile", self._evaluate(problem, source, h, "profile"))
                    cached = self._cache.put(key, "check", verdict.check_view(full, self.config.strict))
                else:
                    cached = self._cache.put(key, upto, self._evaluate(problem, source, h, upto, checked))
            return cached

    def _time_with_check(self) -> bool:
        on = self.config.time_with_check
        return self.platform.time_with_check if on is None else on

    def _evaluate(
        self, problem: Problem, source: str, h: str, upto: Upto, checked: EvalResult | None = None
    ) -> EvalResult:
        """`checked`: this evaluator's passing check of the same source and problem, which a profile
        request reuses instead of checking again."""
        t0 = time.monotonic()
        result = EvalResult(
            status=Status.ok,
            source_hash=h,
            platform=self.platform.name,
            device=self.device_info().get("device_name", ""),
        )
        violations = check_source(source, self.platform.name, problem.banned_ops)
        if violations:
            result.status, result.reason = Status.static_error, f"source rules: {violations[0]}"
            result.violations = violations
            return result
        source, notes = strip_compiler_settings(source)
        extracted = extract_sources(source)
        build_dir = self._build_dir(source, extracted)
        pkey = text_key(problem.source)
        req = self._request(
            problem,
            [],
            candidate_path=str(self.workspace.write_candidate(h, source)),
            check_seeds=[secrets.randbits(31) for _ in range(self.config.check_trials)],
            kernel_names=extracted.kernel_names,
            flops=self._flops.get(pkey),
            build_calls=extracted.build_calls,
            decide_above=self.config.retime_at if upto == "profile" else None,
        )
        if self._build(req, build_dir, h, result):
            self._measure(problem, req, build_dir, h, upto, checked, result)
            for info in (result.check, result.profile):
                if info is not None and info.flops is not None:
                    self._flops.setdefault(pkey, info.flops)
            self._judge_time(result)
            if upto == "profile" and self._reaches_target(result):
                self._retime(problem, req, build_dir, h, result)
            verdict.judge_fragile(result, self.config.strict)
            if upto == "profile" and result.status == Status.ok and result.profile is not None:
                self._vendor_profile(problem, req, build_dir, h, result)
        if result.build is not None:
            result.build.notes = notes
        result.wall_seconds = time.monotonic() - t0
        return result

    def _build(self, req: WorkerRequest, build_dir: Path, h: str, result: EvalResult) -> bool:
        """Build the candidate's extension unless an earlier candidate with the same native code did. Where
        its load_inline arguments read plainly (req.build_calls) the build runs none of its Python."""
        with self._locks(build_dir.name), self.workspace.build_lock(build_dir.name):
            if (build_dir / BUILT).exists():
                return True
            build_dir.mkdir(parents=True, exist_ok=True)
            with self._builds:
                headers = self.platform.build_headers(self.workspace.headers, req.build_calls)
                out = self.launcher.run(
                    req.model_copy(update={"phases": [Phase.build]}),
                    None,
                    self.workspace.run_dir(f"{h}-build"),
                    BuildFolder(build_dir, keep=True, headers=headers),
                )
            verdict.fold(result, out)
            if result.status != Status.ok or not (build_dir / BUILT).exists():
                shutil.rmtree(build_dir, ignore_errors=True)  # a killed build leaves lock files behind
                return False
            return True

    def _measure(
        self,
        problem: Problem,
        req: WorkerRequest,
        build_dir: Path,
        h: str,
        upto: Upto,
        checked: EvalResult | None,
        result: EvalResult,
    ) -> None:
        """The phases after the build, in a worker that imports the candidate and its built extension."""
        reused = {Phase.check} if checked is not None else set()
        if checked is not None and checked.robustness is not None:
            reused.add(Phase.robust)
        phases = [p for p in UPTO[upto] if p not in reused]
        imported = result.build is not None and req.build_calls is None  # the build worker imported it
        req = req.model_copy(update={"phases": phases, "build_calls": None})
        workdir = self.workspace.run_dir(f"{h}-{upto}")
        first_build = result.build
        if phases == [Phase.build]:
            if not imported:
                # Importing needs no device to itself, so it does not wait for or hold a lane.
                out = self.launcher.run(req, self.lane_devices()[0], workdir, BuildFolder(build_dir))
                verdict.fold(result, out)
        else:
            verdict.fold(result, self.launcher.run_on_lane(req, BuildFolder(build_dir), workdir, h, problem.name))
        if checked is not None and result.check is None:
            result.check = checked.check
        if checked is not None and result.robustness is None:
            result.robustness = checked.robustness
        if first_build is not None and result.build is not None and result.build is not first_build:
            result.build.seconds, result.build.cached = first_build.seconds, False

    def _judge_time(self, result: EvalResult) -> None:
        verdict.judge_speed_of_light(result, self.config.floor_slack)
        verdict.judge_device_time(result, self.config.device_time_slack)

    def _reaches_target(self, result: EvalResult) -> bool:
        at = self.config.retime_at
        return at is not None and result.speedup is not None and result.speedup >= at

    def _retime(self, problem: Problem, req: WorkerRequest, build_dir: Path, h: str, result: EvalResult) -> None:
        """A success is timed again in a fresh worker, which seals its timers before it imports the
        candidate, on new seeds; that figure is the one kept, and judged again."""
        t0 = time.monotonic()
        again = EvalResult(status=Status.ok)
        fresh = req.model_copy(
            update={
                "phases": [Phase.build, Phase.time],
                "build_calls": None,
                "decide_above": None,
                "init_seed": secrets.randbits(31),
                "timing_seed": secrets.randbits(31),
            }
        )
        out = self.launcher.run_on_lane(
            fresh, BuildFolder(build_dir), self.workspace.run_dir(f"{h}-retime"), h, problem.name
        )
        verdict.fold(again, out)
        result.setup_seconds += again.setup_seconds
        result.retime_seconds = time.monotonic() - t0
        if again.status != Status.ok or again.timing is None:
            result.status = again.status if again.status != Status.ok else Status.crashed
            result.failed_phase = Phase.time.value
            result.reason = f"re-timing in a fresh worker: {again.reason or 'no timing came back'}"
            return
        result.first_timing, result.timing = result.timing, again.timing
        self._judge_time(result)

    def _vendor_profile(
        self, problem: Problem, req: WorkerRequest, build_dir: Path, h: str, result: EvalResult
    ) -> None:
        req = req.model_copy(update={"phases": [Phase.build, Phase.profile]})

        def run(prefix: list[str], workdir: Path):
            return self.launcher.run_prefixed_on_lane(req, BuildFolder(build_dir), h, problem.name, prefix, workdir)

        self.platform.vendor_profile(run, self.workspace.run_dir(f"{h}-vendor"), req.kernel_names, result.profile)

    # ---- hardware counters, when the model asks ----
    def counters(self, problem: Problem, source: str, result: EvalResult | None = None) -> tuple[str, dict]:
        """The vendor profiler's counters for the candidate's own kernels (ncu on NVIDIA, rocprofv3 on
        AMD), over a few calls of the candidate alone, with the shared digest's diagnosis (from the
        candidate's timed result where given). (text for the model, data for the record)"""
        text, data = self._vendor_counters(problem, source)
        if data.get("counters"):
            from tools.harness.device_peaks import peaks_for
            from tools.harness.profilers import bottleneck

            kernels = [bottleneck.KernelCounters.model_validate(c) for c in data["counters"]]
            p, t = (result.profile, result.timing) if result is not None else (None, None)
            info = self.device_info()
            diag = bottleneck.diagnose(
                kernels,
                peaks_for(info.get("device_name", ""), info.get("arch", "")),
                p.flops if p else None,
                (p.dtype if p else None) or "float32",
                t.candidate.median_ms if t else None,
            )
            text += "\n" + bottleneck.text(kernels, diag)
            data["bottleneck"] = diag.model_dump()
        return text, data

    def _vendor_counters(self, problem: Problem, source: str) -> tuple[str, dict]:
        h = self.source_hash(source)
        source = strip_compiler_settings(source)[0]  # as it was built
        extracted = extract_sources(source)
        build_dir, cand_path = self._build_dir(source, extracted), self.workspace.candidate_file(h)
        if not (build_dir / BUILT).exists() or not cand_path.exists():
            return "counters: profile_kernel this candidate first (it has not been built).", {}
        req = self._request(
            problem, [Phase.build, Phase.replay], candidate_path=str(cand_path), kernel_names=extracted.kernel_names
        )

        def run(prefix: list[str], workdir: Path):
            return self.launcher.run_prefixed_on_lane(req, BuildFolder(build_dir), h, problem.name, prefix, workdir)

        return self.platform.counters(run, self.workspace.run_dir(f"{h}-counters"), extracted.kernel_names)
