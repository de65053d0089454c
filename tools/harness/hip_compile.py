"""Compile a candidate's HIP source for an AMD target without ROCm and without a GPU: upstream clang
(LLVM 22) with HIP 7.2's headers and device libraries, as scripts/install-hip-toolchain.sh installs them.

Two passes, like hipcc's: the device code object for the target (`--cuda-device-only -c`, with clang's
kernel-resource-usage remarks: registers, LDS, scratch, occupancy), then the host side parsed
(`--cuda-host-only -fsyntax-only`). The source is laid out as load_inline lays out cuda_sources on ROCm
(hipify pass, torch's HIP flags), so line numbers point into the candidate's kernel source.

What a CPU or CUDA build of torch lets compile: torch's host headers (<torch/types.h>,
<torch/extension.h>) and any device code; not <ATen/hip/...> or <c10/hip/...> (and so not the
<ATen/cuda/...> includes hipify turns into them), which only ROCm builds of torch ship. Register use and
scheduling are upstream LLVM's, which can differ a little from the ROCm compiler's.

torch's headers take 30-40 s to parse on two cores, so they are parsed once into a precompiled header
per side and target (cached, keyed by everything that reaches the compiler) and reused: a kernel then
compiles in a few seconds.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tools.errors import PlatformError
from tools.harness.compile_only import CompileOnlyResult, _device_sources, _run, trim_errors
from tools.harness.hip_hints import hip_hints, hipify_source
from tools.harness.hip_resources import parse_resource_remarks, resource_text

KERNEL_FILE = "kernel.hip"
DEFAULT_ROOT = "/opt/hip-toolchain"
INSTALL_HINT = "run scripts/install-hip-toolchain.sh (Debian 12), or set HIP_TOOLCHAIN_ROOT to where it unpacked HIP"
# What load_inline puts in front of cuda_sources, after its hipify pass on ROCm.
LOAD_INLINE_PREFIX = "#include <torch/types.h>\n#include <hip/hip_runtime.h>\n"
# torch/utils/cpp_extension.py: COMMON_HIP_FLAGS + COMMON_HIPCC_FLAGS.
TORCH_HIP_FLAGS = [
    "-D__HIP_PLATFORM_AMD__=1",
    "-DUSE_ROCM=1",
    "-DHIPBLAS_V2",
    "-fPIC",
    "-DCUDA_HAS_FP16=1",
    "-D__HIP_NO_HALF_OPERATORS__=1",
    "-D__HIP_NO_HALF_CONVERSIONS__=1",
    "-DHIP_ENABLE_WARP_SYNC_BUILTINS=1",
]
_ARCH_RE = re.compile(r"gfx[0-9a-f]+")
# The candidate's own flags that change what compiles (defines, -std, -O, -f...); the rest (warnings,
# an explicit target, which the rocm source rules reject) would only make this check differ.
_CANDIDATE_FLAG_RE = re.compile(r"-(D|U|O|std=|f)\S*")


@dataclass(frozen=True)
class Toolchain:
    clang: str
    resource_dir: str
    hip_root: str  # where the HIP headers (usr/include/hip) and device bitcode were unpacked

    @property
    def bitcode(self) -> str:
        return next(iter(sorted(Path(self.hip_root).glob("usr/lib/llvm-*/lib/clang/*/amdgcn/bitcode"))), "")


def find_toolchain() -> Toolchain:
    """clang-22 (or newer) and the unpacked HIP headers, or a PlatformError saying how to install them."""
    root = os.environ.get("HIP_TOOLCHAIN_ROOT") or DEFAULT_ROOT
    clang = next((c for v in (24, 23, 22) if (c := shutil.which(f"clang++-{v}"))), None)
    if clang is None or not (Path(root) / "usr" / "include" / "hip" / "hip_runtime.h").is_file():
        raise PlatformError(f"The HIP compile-only toolchain was not found: {INSTALL_HINT}.")
    resource = subprocess.run([clang, "-print-resource-dir"], capture_output=True, text=True, timeout=60).stdout
    tc = Toolchain(clang, resource.strip(), root)
    if not tc.bitcode:
        raise PlatformError(f"The HIP device libraries are missing under {root}: {INSTALL_HINT}.")
    return tc


def check_arch(arch: str) -> str:
    arch = arch.strip().split(":")[0].lower()
    if not _ARCH_RE.fullmatch(arch):
        raise PlatformError(f"Unrecognised AMD arch '{arch}': use a form like gfx942 or gfx950.")
    return arch


def base_flags(tc: Toolchain, extra: list[str] | None = None) -> list[str]:
    """Everything but the target and the pass: HIP from the unpacked headers, torch's HIP flags."""
    import torch.utils.cpp_extension as cpp_extension

    abi = int(bool(getattr(__import__("torch")._C, "_GLIBCXX_USE_CXX11_ABI", True)))
    includes = list(cpp_extension.include_paths()) + [sysconfig.get_paths()["include"]]
    # -nogpuinc: the HIP headers come from hip_root, not a ROCm install; HIP's amd_hip_runtime.h includes
    # <include/cuda_wrappers/...>, hence the resource dir itself on the include path.
    fixed = [
        tc.clang,
        "-x",
        "hip",
        "-std=c++20",
        "-O3",
        "-nogpuinc",
        f"-resource-dir={tc.resource_dir}",
        "-isystem",
        tc.resource_dir,
        "-isystem",
        str(Path(tc.hip_root) / "usr" / "include"),
        "-include",
        "__clang_hip_runtime_wrapper.h",
        f"--rocm-device-lib-path={tc.bitcode}",
        "-DWITH_HIP",
        f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
        "-DTORCH_EXTENSION_NAME=x",
        *TORCH_HIP_FLAGS,
    ]
    # A repeat of a fixed flag (-O3, -std=c++20) changes nothing but would key another precompiled header.
    added = [f for f in dict.fromkeys(extra or []) if f not in fixed]
    return [*fixed, *added, *[f"-I{d}" for d in includes]]


def candidate_flags(build_calls: list[dict] | None) -> list[str]:
    """The extra_cuda_cflags of the candidate's load_inline calls that shape the compile: on ROCm
    load_inline hands them to the compiler after torch's own (so `-U__HIP_NO_HALF_CONVERSIONS__` works)."""
    flags: list[str] = []
    for call in build_calls or []:
        value = call.get("kwargs", {}).get("extra_cuda_cflags") or []
        for flag in [value] if isinstance(value, str) else value:
            if isinstance(flag, str) and _CANDIDATE_FLAG_RE.fullmatch(flag.strip()):
                flags.append(flag.strip())
    return flags


def _pch_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.environ.get("HIPGEN_HIP_PCH_DIR") or Path(base) / "hipgen" / "hip-pch")


def precompiled_header(base: list[str], side: list[str], timeout: float = 900) -> Path | None:
    """torch's and HIP's headers (load_inline's prefix) precompiled for one pass, built once and kept;
    None when it cannot be built (the compile then parses the headers itself)."""
    import torch

    version = subprocess.run([base[0], "--version"], capture_output=True, text=True, timeout=60).stdout
    key_text = "\n".join([version, torch.__version__, torch.__file__, *base, *side])
    name = hashlib.sha256(key_text.encode()).hexdigest()[:24]
    folder = _pch_dir()
    folder.mkdir(parents=True, exist_ok=True)
    pch = folder / f"{name}.pch"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent builds of one header wait for the first
        if pch.is_file():
            return pch
        header, out = folder / f"{name}.h", folder / f"{name}.pch.part"
        header.write_text(LOAD_INLINE_PREFIX)  # the header stays: clang checks it when it loads the PCH
        # -S: a device-only -c would try to link the (empty) code object.
        code, _ = _run([*base, *side, "-S", "-Xclang", "-emit-pch", "-o", str(out), str(header)], str(folder), timeout)
        if code != 0 or not out.is_file():
            out.unlink(missing_ok=True)
            return None
        os.replace(out, pch)
    return pch


def _passes(tc: Toolchain, arch: str, extra: list[str] | None) -> list[tuple[str, list[str], list[str]]]:
    """(name, flags for the pass, flags that only the compile adds) for the device and the host pass."""
    base = base_flags(tc, extra)
    device = [*base, f"--offload-arch={arch}", "--cuda-device-only"]
    # The host side does not depend on the target, so its header is shared between targets.
    host = [*base, "--offload-arch=gfx942", "--cuda-host-only"]
    return [
        ("device", device, ["--no-gpu-bundle-output", "-Rpass-analysis=kernel-resource-usage", "-c"]),
        ("host", host, ["-fsyntax-only"]),
    ]


def compile_hip_only(
    source: str, arch: str = "gfx950", timeout: float = 300, extra_flags: list[str] | None = None
) -> CompileOnlyResult:
    """Build the candidate's cuda_sources for `arch` as load_inline would on ROCm, and parse its host
    side; ok is False with the compiler's first errors (lines in the kernel source). `resources` holds
    each kernel's registers, LDS, scratch and occupancy from the device pass."""
    tc = find_toolchain()
    arch = check_arch(arch)
    ext = _device_sources(source)
    if isinstance(ext, CompileOnlyResult):
        return ext
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="compile_hip_only_") as tmp:
        text = hipify_source(f'#line 1 "{KERNEL_FILE}"\n{ext.cuda}\n', Path(tmp))
        extra = [*(extra_flags or []), *candidate_flags(ext.build_calls)]
        for side, flags, compile_flags in _passes(tc, arch, extra):
            pch = precompiled_header(flags, [])
            src = Path(tmp) / KERNEL_FILE
            src.write_text(text if pch else LOAD_INLINE_PREFIX + text)
            cmd = [*flags, *(["-include-pch", str(pch)] if pch else []), *compile_flags, str(src)]
            cmd += ["-o", str(Path(tmp) / "kernel.co")] if side == "device" else []
            left = max(1.0, timeout - (time.monotonic() - start))
            code, out = _run(cmd, tmp, left)
            if code != 0 and pch and "precompiled file" in out:  # a stale header: parse without it
                pch.unlink(missing_ok=True)
                src.write_text(LOAD_INLINE_PREFIX + text)
                cmd = [*flags, *compile_flags, *cmd[len(flags) + 2 + len(compile_flags) :]]
                code, out = _run(cmd, tmp, left)
            out = out.replace(str(src), KERNEL_FILE).replace(tmp + os.sep, "")
            if code != 0:
                return _failed(ext.cuda, out, cmd, time.monotonic() - start, timeout if code is None else None)
            if side == "device":
                kernels = parse_resource_remarks(out)
    return CompileOnlyResult(
        ok=True,
        seconds=time.monotonic() - start,
        command=cmd,
        resources=resource_text(kernels, arch),
        kernels=kernels,
    )


def _failed(cuda: str, out: str, cmd: list[str], seconds: float, timed_out: float | None) -> CompileOnlyResult:
    if timed_out is not None:
        errors = f"clang timed out after {timed_out:.0f} s\n" + trim_errors(out)
    else:
        # An error inside a HIP header (a static_assert) names the kernel's line only in a note.
        where = [ln for ln in out.splitlines() if ln.startswith(f"{KERNEL_FILE}:") and ": note: " in ln][:3]
        errors = "\n".join([*hip_hints(cuda, out), trim_errors(out), *where])
    return CompileOnlyResult(ok=False, seconds=seconds, command=cmd, errors=errors.strip())
