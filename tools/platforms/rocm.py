"""The rocm platform: HIP C++ through hipcc. torch keeps the torch.cuda API on ROCm, so the device
side is the cuda platform's; building, arch selection, device visibility and the cache flush differ.

Build environment (what `build_env` returns; candidates call load_inline themselves, so everything
reaches hipcc through the environment):
- PYTORCH_ROCM_ARCH: one `--offload-arch` per entry. Chosen from the explicit arch (--arch; settings
  pass PYTORCH_ROCM_ARCH there too), else this process's PYTORCH_ROCM_ARCH, else the first GPU agent
  (`amdgpu-arch` / `rocm_agent_enumerator`, no HIP initialisation in the parent), else gfx950.
- HipKittens, when its root is configured (argument, or HIPKITTENS_ROOT): its include folder goes on
  CPLUS_INCLUDE_PATH (clang adds it as a system include dir for C++ and HIP), and -DKITTENS_CDNA3
  (gfx942) or -DKITTENS_CDNA4 (gfx950) on HIPCC_COMPILE_FLAGS_APPEND, which hipcc appends to every
  compile (both the Perl hipcc of ROCm <= 5.x and the hipcc binary of ROCm 6/7 read it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tools.errors import PlatformError
from tools.platforms.cuda import CudaPlatform
from tools.platforms.hipkittens_branch import branch_of, check_branch

DEFAULT_ARCH = "gfx950"
HIPKITTENS_ENV = "HIPKITTENS_ROOT"
# HipKittens' per-generation switch: CDNA3 = MI300X/MI325X, CDNA4 = MI350X/MI355X.
NO_HALF_CONVERSIONS_OFF = "-U__HIP_NO_HALF_CONVERSIONS__"
KITTENS_DEFINES = {"gfx942": "-DKITTENS_CDNA3", "gfx950": "-DKITTENS_CDNA4"}
_ARCH_RE = re.compile(r"^gfx[0-9a-f]{2,4}$")


def normalise_rocm_arch(arch: str) -> str:
    """'gfx942:sramecc+:xnack-' -> 'gfx942'; several targets (';' or spaces) keep their order, joined
    with ';' as PYTORCH_ROCM_ARCH expects."""
    parts = [p.split(":")[0].strip().lower() for p in re.split(r"[;\s,]+", arch.strip()) if p.strip()]
    for p in parts:
        if not _ARCH_RE.match(p):
            raise PlatformError(f"Unrecognised AMD arch '{p}': use a form like gfx942 or gfx950.")
    if not parts:
        raise PlatformError("An empty AMD arch was given: use a form like gfx942 or gfx950.")
    return ";".join(dict.fromkeys(parts))


def detect_device_arch() -> str | None:
    """The first GPU agent's gfx name from ROCm's command-line tools, or None."""
    for tool in ("amdgpu-arch", "rocm_agent_enumerator"):
        path = (
            shutil.which(tool)
            or shutil.which(tool, path="/opt/rocm/bin")
            or shutil.which(tool, path="/opt/rocm/llvm/bin")
        )
        if not path:
            continue
        try:
            out = subprocess.run([path], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.split():
            name = line.strip().split(":")[0]
            if _ARCH_RE.match(name) and name != "gfx000":  # gfx000 is the CPU agent
                return name
    return None


def resolve_arch(arch: str | None, env: dict[str, str] | None = None, device_arch=detect_device_arch) -> str:
    """Explicit arch > PYTORCH_ROCM_ARCH > the device's arch > gfx950. `device_arch` is a callable
    (or a string, or None) so that tests and callers that already know the device can skip the probe."""
    env = os.environ if env is None else env
    if arch and arch.strip():
        return normalise_rocm_arch(arch)
    if env.get("PYTORCH_ROCM_ARCH", "").strip():
        return normalise_rocm_arch(env["PYTORCH_ROCM_ARCH"])
    dev = device_arch() if callable(device_arch) else device_arch
    return normalise_rocm_arch(dev) if dev else DEFAULT_ARCH


def hipkittens_env(root: str | os.PathLike, arch: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """CPLUS_INCLUDE_PATH and HIPCC_COMPILE_FLAGS_APPEND for building against HipKittens for `arch`
    (one target; HipKittens builds one CDNA generation at a time). Existing values are kept, after ours."""
    env = os.environ if env is None else env
    root = Path(root).expanduser()
    include = root / "include"
    if not include.is_dir():
        raise PlatformError(
            f"HipKittens was configured at {root}, but {include} does not exist: "
            f"point {HIPKITTENS_ENV} at a HipKittens checkout."
        )
    targets = arch.split(";")
    if len(targets) != 1:
        raise PlatformError(f"HipKittens builds for one arch at a time, not '{arch}': pick gfx942 or gfx950.")
    define = KITTENS_DEFINES.get(targets[0])
    if define is None:
        raise PlatformError(f"HipKittens supports gfx942 (CDNA3) and gfx950 (CDNA4), not {targets[0]}.")
    branch = check_branch(root, targets[0])
    dirs = [str(include)]
    rocm = env.get("ROCM_PATH") or env.get("ROCM_HOME") or "/opt/rocm"
    if (Path(rocm) / "include" / "hip").is_dir():
        dirs.append(str(Path(rocm) / "include" / "hip"))  # HipKittens' own builds add it too
    if env.get("CPLUS_INCLUDE_PATH"):
        dirs.append(env["CPLUS_INCLUDE_PATH"])
    flags = [define]
    if branch == "cdna3":
        # cdna3's base types convert half implicitly; torch defines this for every HIP build.
        flags.append(NO_HALF_CONVERSIONS_OFF)
    if env.get("HIPCC_COMPILE_FLAGS_APPEND"):
        flags.insert(0, env["HIPCC_COMPILE_FLAGS_APPEND"])
    return {
        "CPLUS_INCLUDE_PATH": os.pathsep.join(dirs),
        "HIPCC_COMPILE_FLAGS_APPEND": " ".join(flags),
        HIPKITTENS_ENV: str(root),
    }


class RocmPlatform(CudaPlatform):
    name = "rocm"
    detect_rank = 10
    visible_devices_var = "HIP_VISIBLE_DEVICES"
    device_compiler = "hipcc"
    # The Infinity Cache (256 MB) sits behind L2: flush twice its size.
    flush_min_bytes = 512 << 20

    @staticmethod
    def present() -> bool:
        import torch

        return bool(getattr(torch.version, "hip", None))

    def __init__(self, hipkittens_root: str | os.PathLike | None = None) -> None:
        root = hipkittens_root or os.environ.get(HIPKITTENS_ENV) or None
        self.hipkittens_root: Path | None = Path(root).expanduser() if root else None

    @property
    def prompt_variant(self) -> str | None:
        """HipKittens' advice when builds get HipKittens."""
        if self.hipkittens_root is None:
            return None
        branch = branch_of(self.hipkittens_root / "include")
        return f"hipkittens-{branch}" if branch else "hipkittens"

    def check_available(self) -> None:
        import torch

        if not getattr(torch.version, "hip", None):
            raise PlatformError(
                "This torch build has no ROCm support: install a ROCm build of torch, or use --platform cpu "
                "(without an AMD GPU, `agent eval --upto build` compiles for --arch)."
            )
        if torch.cuda.device_count() == 0:
            raise PlatformError(
                "No AMD GPU is visible: check the ROCm driver and HIP_VISIBLE_DEVICES, or use --platform cpu."
            )
        self._check_compiler()

    def build_only_evaluator(self, config, arch_required: bool = False):
        """No AMD GPU here: compile for the target with the HIP compile-only toolchain."""
        from tools.harness.build_only import BuildOnlyEvaluator, gpu_present

        return None if gpu_present() else BuildOnlyEvaluator(config, arch_required=arch_required)

    def _check_compiler(self) -> None:
        from torch.utils.cpp_extension import ROCM_HOME

        hipcc = os.path.join(ROCM_HOME, "bin", "hipcc") if ROCM_HOME else shutil.which("hipcc")
        if not hipcc or not os.path.exists(hipcc):
            raise PlatformError("hipcc was not found: install ROCm or set ROCM_HOME to it.")

    def resolve_arch(self, arch: str | None) -> str:
        return resolve_arch(arch)

    def build_arch(self, explicit: str | None, device) -> str | None:
        # From ROCm's tools, not the probe: the parent never initialises HIP.
        return self.resolve_arch(explicit)

    def sandbox_devices(self) -> list[str]:
        """The kernel driver (kfd) and the render nodes (dri) ROCm opens."""
        return [d for d in ("/dev/kfd", "/dev/dri") if os.path.exists(d)]

    def source_rules(self, source: str):
        from tools.platforms.rocm_flags import check_rocm_flags

        return check_rocm_flags(source)

    def counters(self, run, workdir, kernel_names) -> tuple[str, dict]:
        from tools.harness.profilers.rocm_counters import rocm_counters

        return rocm_counters(run, workdir, kernel_names)

    def vendor_profile(self, run, workdir, kernel_names, profile) -> None:
        """Per-kernel registers, LDS, scratch from rocprofv3 (or legacy rocprof), when installed: the
        profile phase again under the profiler. torch.profiler's view stays if it leaves nothing."""
        import shutil

        from tools.harness.profilers.rocprof import find_profiler, profiler_command
        from tools.harness.profilers.rocprof_digest import digest_run, digest_text

        profiler = find_profiler()
        if profiler is None:
            return
        shutil.rmtree(workdir, ignore_errors=True)
        run(profiler_command(profiler, workdir, "cand"), workdir)
        d = digest_run(workdir, "cand", kernel_names)
        if d is not None and d.kernels:
            profile.kernels, profile.own_share = list(d.kernels), d.own_share
            profile.vendor, profile.vendor_digest = d.source, digest_text(d)

    def library_roots(self) -> dict[str, Path]:
        from tools.harness.hip_compile import DEFAULT_ROOT

        rocm = Path(os.environ.get("ROCM_PATH") or os.environ.get("ROCM_HOME") or "/opt/rocm") / "include"
        # without ROCm (a compile-only run), the headers the compile-only toolchain builds against
        unpacked = Path(os.environ.get("HIP_TOOLCHAIN_ROOT") or DEFAULT_ROOT) / "usr" / "include"
        hip = next((d for d in (rocm, unpacked) if (d / "hip").is_dir()), None)
        roots = {"hip": hip} if hip is not None else {}
        if self.hipkittens_root is not None and (self.hipkittens_root / "include").is_dir():
            roots["hipkittens"] = self.hipkittens_root / "include"
        return roots

    def build_env(self, arch: str | None) -> dict[str, str]:
        # An unset arch makes torch compile for every target the wheel knows: minutes per candidate.
        target = self.resolve_arch(arch)
        env = {"PYTORCH_ROCM_ARCH": target}
        if self.hipkittens_root is not None:
            env.update(hipkittens_env(self.hipkittens_root, target))
        return env

    def describe(self, index: int = 0) -> dict:
        info = super().describe(index)
        import torch

        info["arch"] = getattr(torch.cuda.get_device_properties(index), "gcnArchName", "").split(":")[0]
        info["hip"] = torch.version.hip
        info["hipkittens"] = str(self.hipkittens_root) if self.hipkittens_root else None
        return info


PLATFORM = RocmPlatform
