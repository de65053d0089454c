"""The evaluator for the rocm platform on a machine with no AMD GPU (no ROCm build of torch, or no device
visible): the source rules, then a compile for the target with the HIP compile-only toolchain
(tools.harness.hip_compile), with the kernels' registers, spills and occupancy. Nothing runs, so a
request for check or profile answers that only the build was done. `agent eval --upto build` and the
compile_kernel tool work through it as through the Evaluator."""

from __future__ import annotations

import os

from tools.errors import PlatformError
from tools.harness.config import EvalConfig
from tools.harness.hip_compile import check_arch, compile_hip_only, find_toolchain
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

    def __init__(self, config: EvalConfig, lane_log=None):
        self.config = config
        self.platform = get_platform(config.platform)
        find_toolchain()  # fails now, in one line, when it is not installed
        target = resolve_arch(config.arch, device_arch=None)
        if ";" in target:
            raise PlatformError(f"A compile-only build takes one AMD arch, not '{target}': pick gfx942 or gfx950.")
        self._arch = check_arch(target)
        self._results: dict[str, EvalResult] = {}

    def close(self) -> None:
        pass

    def start_spares(self) -> None:
        pass

    def spare_depth(self) -> int:
        return 0

    def arch(self) -> str:
        return self._arch

    def device_info(self) -> dict:
        return {"device_name": f"no AMD GPU (compile-only for {self._arch})", "arch": self._arch, "device_count": 0}

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

    def evaluate(self, problem: Problem, source: str, upto: Upto = "build") -> EvalResult:
        h = self.source_hash(source)
        if h not in self._results:
            self._results[h] = self._build(problem, source, h)
        result = self._results[h].model_copy(deep=True)
        if upto != "build" and result.status == Status.ok:
            result.status = Status.crashed
            result.reason = (
                f"not run: there is no AMD GPU here, so only the build for {self._arch} was checked; "
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
        c = compile_hip_only(source, self._arch, self.config.timeouts["build"], self._extra_flags())
        result.build = BuildInfo(ok=c.ok, seconds=c.seconds, errors=c.errors, resources=c.resources)
        result.wall_seconds = c.seconds
        if not c.ok:
            result.status = Status.build_error
            result.reason = f"the HIP compile for {self._arch} failed"
        return result

    def counters(self, problem: Problem, source: str, result: EvalResult | None = None) -> tuple[str, dict]:
        return f"counters: there is no AMD GPU here (compile-only for {self._arch}).", {}
