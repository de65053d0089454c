"""The evaluator for the rocm platform on a machine with no AMD GPU (no ROCm build of torch, or no device
visible): the source rules, then a compile for the target with the HIP compile-only toolchain
(tools.harness.hip_compile), with the kernels' registers, spills and occupancy. Nothing runs, so a
request for check or profile answers that only the build was done (status not_run), and the baseline
read_reference shows has the input shapes (from the meta device) but no reference time. `agent eval
--upto build` and a compile-only `agent solve` work through it as through the Evaluator."""

from __future__ import annotations

import os
import threading

from tools.errors import PlatformError
from tools.harness.compiler_env import strip_compiler_settings
from tools.harness.config import EvalConfig
from tools.harness.hip_compile import check_arch, compile_hip_only, find_toolchain
from tools.harness.lanes import Lanes
from tools.harness.meta_inputs import input_shapes
from tools.harness.protocol import Upto
from tools.harness.results import BuildInfo, EvalResult, Status
from tools.harness.static_check import check_source
from tools.harness.workspace import source_hash
from tools.platforms import get_platform
from tools.platforms.rocm import hipkittens_env, resolve_arch
from tools.problem import Problem


def gpu_present() -> bool:
    """A ROCm build of torch that sees an AMD GPU: the full evaluator can run kernels."""
    import torch

    return bool(getattr(torch.version, "hip", None)) and torch.cuda.device_count() > 0


class BuildOnlyEvaluator:
    spares = None
    compile_only = True  # nothing runs here: kernels are built, never checked or timed

    def __init__(self, config: EvalConfig, lane_log=None, arch_required: bool = False):
        """`arch_required`: the target must be given (--arch or PYTORCH_ROCM_ARCH), not defaulted."""
        self.config = config
        self.platform = get_platform(config.platform)
        if arch_required and not (config.arch or os.environ.get("PYTORCH_ROCM_ARCH", "").strip()):
            raise PlatformError(
                "No AMD GPU is visible here, so a rocm run can only build its kernels, not run them: pass "
                "--arch gfx942 (MI300X/MI325X) or --arch gfx950 (MI350X/MI355X) to say which target to build for."
            )
        find_toolchain()  # fails now, in one line, when it is not installed
        target = resolve_arch(config.arch, device_arch=None)
        if ";" in target:
            raise PlatformError(f"A compile-only build takes one AMD arch, not '{target}': pick gfx942 or gfx950.")
        self._arch = check_arch(target)
        self._results: dict[str, EvalResult] = {}
        self._baselines: dict[str, dict] = {}
        self._builds = threading.Semaphore(config.build_jobs)
        self.lanes = Lanes(self.lane_devices)  # never held: nothing runs on a device

    def close(self) -> None:
        pass

    def start_spares(self) -> None:
        pass

    def spare_depth(self) -> int:
        return 0

    def arch(self) -> str:
        return self._arch

    def device_info(self) -> dict:
        return {
            "device_name": f"no AMD GPU (compile-only for {self._arch})",
            "arch": self._arch,
            "device_count": 0,
            "compile_only": "no AMD GPU here; kernels are built, not run",
        }

    def lane_devices(self) -> list[int | None]:
        return [None]

    def source_hash(self, source: str) -> str:
        return source_hash(source, self.platform.name, self._arch)

    def _extra_flags(self) -> list[str]:
        """HipKittens' include folders and flags, as the rocm platform gives hipcc (its branch checked
        against the arch)."""
        root = getattr(self.platform, "hipkittens_root", None)
        if root is None:
            return []
        env = hipkittens_env(root, self._arch, {"ROCM_PATH": os.path.join(find_toolchain().hip_root, "usr")})
        includes = [f"-I{d}" for d in env["CPLUS_INCLUDE_PATH"].split(os.pathsep) if d]
        return includes + env["HIPCC_COMPILE_FLAGS_APPEND"].split()

    def baseline(self, problem: Problem) -> dict:
        """What read_reference shows, without a device: the input shapes from the meta device, no
        reference time."""
        key = str(problem.path)
        if key not in self._baselines:
            shapes, why = input_shapes(problem.path)
            self._baselines[key] = {
                "reference": None,
                "reference_missing": "not measured (compile-only: no AMD GPU here)",
                "inputs": shapes,
                "inputs_missing": f"not computed ({why})",
                "device": self.device_info(),
            }
        return self._baselines[key]

    def evaluate(self, problem: Problem, source: str, upto: Upto = "build") -> EvalResult:
        h = self.source_hash(source)
        if h not in self._results:
            with self._builds:
                self._results[h] = self._build(problem, source, h)
        result = self._results[h].model_copy(deep=True)
        if upto != "build" and result.status == Status.ok:
            result.status = Status.not_run
            result.reason = (
                f"there is no AMD GPU here, so only the build for {self._arch} was checked; "
                "correctness and timing need a ROCm machine."
            )
        return result

    def _build(self, problem: Problem, source: str, h: str) -> EvalResult:
        result = EvalResult(status=Status.ok, source_hash=h, platform=self.platform.name)
        result.device = self.device_info()["device_name"]
        violations = check_source(source, self.platform.name, problem.banned_ops)
        if violations:
            result.status, result.reason = Status.static_error, f"source rules: {violations[0]}"
            result.violations = violations
            return result
        source, notes = strip_compiler_settings(source)
        c = compile_hip_only(source, self._arch, self.config.timeouts["build"], self._extra_flags())
        result.build = BuildInfo(ok=c.ok, seconds=c.seconds, errors=c.errors, resources=c.resources, notes=notes)
        result.wall_seconds = c.seconds
        if not c.ok:
            result.status = Status.build_error
            result.reason = f"the HIP compile for {self._arch} failed"
        return result

    def counters(self, problem: Problem, source: str, result: EvalResult | None = None) -> tuple[str, dict]:
        return f"counters: there is no AMD GPU here (compile-only for {self._arch}).", {}
