"""Compile a candidate's CUDA source with nvcc, without a GPU and without linking or importing it.

The source is laid out the way torch's load_inline lays out cuda_sources, so what compiles here compiles
there; a `#line 1` directive makes error line numbers point into the candidate's kernel source.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, Field

from tools.errors import PlatformError
from tools.harness.source_extract import extract_sources

KERNEL_FILE = "kernel.cu"
ERRORS_LIMIT = 4000
DEFAULT_NVCC = "/usr/local/cuda/bin/nvcc"
# What load_inline puts in front of cuda_sources (torch/utils/cpp_extension.py).
_LOAD_INLINE_PREFIX = "#include <torch/types.h>\n#include <cuda.h>\n#include <cuda_runtime.h>\n"
_DIAG_RE = re.compile(r"^\S.*?(\(\d+\)|:\d+:\d+):\s*(?:fatal )?(error|warning|remark|note)\b", re.I)


class CompileOnlyResult(BaseModel):
    ok: bool
    seconds: float = 0.0
    errors: str = Field(default="", description="the first errors, trimmed; lines refer to the kernel source")
    command: list[str] = Field(default_factory=list)


def find_nvcc(nvcc: str | None = None) -> str:
    candidates = [nvcc] if nvcc else []
    if os.environ.get("CUDA_HOME"):
        candidates.append(os.path.join(os.environ["CUDA_HOME"], "bin", "nvcc"))
    candidates += [shutil.which("nvcc"), DEFAULT_NVCC]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise PlatformError("nvcc was not found: install the CUDA toolkit or set CUDA_HOME.")


def gencode(arch: str) -> str:
    """`sm_90` / `sm_90a` / `90` -> `-gencode=arch=compute_90,code=sm_90`."""
    m = re.fullmatch(r"(?:sm_|compute_)?(\d+[a-z]?)", arch.strip())
    if not m:
        raise PlatformError(f"unknown CUDA architecture {arch!r}: use the form sm_90.")
    return f"-gencode=arch=compute_{m.group(1)},code=sm_{m.group(1)}"


def include_dirs(nvcc: str) -> list[str]:
    import torch.utils.cpp_extension as cpp_extension

    # include_paths() defaults to the CPU set on every torch version (its argument changed from
    # cuda=bool to device_type=str in 2.6); the CUDA set only adds CUDA_HOME/include, added below.
    dirs = list(cpp_extension.include_paths())
    dirs.append(sysconfig.get_paths()["include"])
    cuda_include = Path(os.path.realpath(nvcc)).parent.parent / "include"
    if (cuda_include / "cuda_runtime.h").is_file():  # nvcc may be a wrapper script outside the toolkit
        dirs.append(str(cuda_include))
    # pip's nvidia-* wheels ship headers (cusparse.h, cublas_v2.h) that ATen/cuda headers include.
    import torch

    site = Path(torch.__file__).parent.parent / "nvidia"
    dirs += sorted(str(p) for pattern in ("*/include", "*/*/include") for p in site.glob(pattern) if p.is_dir())
    return dirs


def nvcc_command(nvcc: str, arch: str, src: Path, obj: Path) -> list[str]:
    import torch

    abi = int(bool(getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", True)))
    # load_inline passes -std=c++20 to nvcc (torch >= 2.13), and torch 2.14's ATen.h refuses C++17.
    cmd = [
        nvcc,
        "-c",
        "-std=c++20",
        gencode(arch),
        "-O3",
        f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
        "-DTORCH_EXTENSION_NAME=x",
        "--expt-relaxed-constexpr",
        "-Xcompiler",
        "-fPIC",
    ]
    cmd += [f"-I{d}" for d in include_dirs(nvcc)]
    return cmd + [str(src), "-o", str(obj)]


def trim_errors(output: str, limit: int = ERRORS_LIMIT) -> str:
    """Error diagnostics first and warnings dropped (torch's headers warn a lot), cut to `limit`."""
    blocks: list[list[str]] = []
    for line in output.splitlines():
        if _DIAG_RE.match(line) or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    kept = [b for b in blocks if (m := _DIAG_RE.match(b[0])) is None or m.group(2).lower() == "error"]
    kept = [b for b in kept if _DIAG_RE.match(b[0]) or "error" in "\n".join(b).lower()] or blocks
    text = "\n".join("\n".join(b).rstrip() for b in kept).strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "\n... (more errors cut)"


def _run(cmd: list[str], cwd: str, timeout: float, env: dict[str, str] | None = None) -> tuple[int | None, str]:
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, env=env
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        # nvcc runs cicc/ptxas/gcc as children: end the whole group, not just nvcc.
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out


def _device_sources(source: str):
    """The candidate's load_inline cuda_sources, or the failed result saying why there are none."""
    try:
        ext = extract_sources(source)
    except SyntaxError as e:
        return CompileOnlyResult(ok=False, errors=f"Python syntax error on line {e.lineno}: {e.msg}")
    if not ext.cuda.strip():
        why = "could not be resolved statically" if ext.unresolved else "were not found"
        return CompileOnlyResult(ok=False, errors=f"the load_inline cuda_sources {why}; pass them as string constants.")
    return ext


def compile_cuda_only(
    source: str, arch: str = "sm_90", nvcc: str | None = None, timeout: float = 300
) -> CompileOnlyResult:
    """nvcc -c the candidate's cuda_sources as load_inline would; ok is False with the first errors."""
    nvcc_path = find_nvcc(nvcc)
    ext = _device_sources(source)
    if isinstance(ext, CompileOnlyResult):
        return ext
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="compile_only_") as tmp:
        src, obj = Path(tmp) / KERNEL_FILE, Path(tmp) / "kernel.o"
        src.write_text(f'{_LOAD_INLINE_PREFIX}#line 1 "{KERNEL_FILE}"\n{ext.cuda}\n')
        cmd = nvcc_command(nvcc_path, arch, src, obj)
        code, out = _run(cmd, tmp, timeout)
        out = out.replace(str(src), KERNEL_FILE).replace(tmp + os.sep, "")
    seconds = time.monotonic() - start
    if code is None:
        return CompileOnlyResult(
            ok=False, seconds=seconds, command=cmd, errors=f"nvcc timed out after {timeout:.0f} s\n" + trim_errors(out)
        )
    return CompileOnlyResult(ok=code == 0, seconds=seconds, command=cmd, errors="" if code == 0 else trim_errors(out))


# ---------------------------------------------------------------------------------------------------
# HIP: the same check for AMD targets with hipcc (Debian's `hipcc` package: HIP 5.2, clang-15, gfx90a).
#
# What compiles here, with a CPU build of torch: HIP runtime headers (<hip/hip_runtime.h>), torch's
# host headers (<torch/extension.h>, <torch/types.h>: TORCH_CHECK, tensors, data_ptr), and device code
# for the chosen gfx target. What does not: <ATen/hip/...>, <c10/hip/...> (and the <ATen/cuda/...>
# includes that load_inline's hipify turns into them): the CPU wheel ships no HIP headers of torch, so a
# source using at::cuda::getCurrentCUDAStream() fails here although it builds on a ROCm machine; and,
# with HIP 5.2, <hip/hip_bf16.h> (__hip_bfloat16 came with ROCm 5.7) and the *_sync warp builtins
# (ROCm 6.2). torch's headers include <thrust/complex.h> under hipcc; ROCm ships it in rocThrust,
# Debian in libthrust-dev, used here with its host (CPP) device system since no rocThrust is installed.
# ---------------------------------------------------------------------------------------------------

HIP_KERNEL_FILE = "kernel.hip"
DEFAULT_HIPCC = "/opt/rocm/bin/hipcc"
# What load_inline puts in front of cuda_sources, after its hipify pass on ROCm.
_LOAD_INLINE_HIP_PREFIX = "#include <torch/types.h>\n#include <hip/hip_runtime.h>\n"
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
_MISSING_TORCH_HIP_RE = re.compile(r"'((?:ATen|c10)/(?:hip|cuda)/[^']+)' file not found")
_SYNC_32BIT_MASK_RE = re.compile(
    r"__(shfl\w*|ballot|any|all|activemask|match_\w+|reduce_\w+)_sync\s*\(\s*"
    r"(0x[fF]{8}[uU]?|4294967295[uU]?|~0[uU]?|0xffffffffu)\s*[,)]"
)


def find_hipcc(hipcc: str | None = None) -> str:
    candidates = [hipcc] if hipcc else []
    for var in ("ROCM_HOME", "ROCM_PATH", "HIP_PATH"):
        if os.environ.get(var):
            candidates.append(os.path.join(os.environ[var], "bin", "hipcc"))
    candidates += [shutil.which("hipcc"), DEFAULT_HIPCC]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise PlatformError("hipcc was not found: apt-get install hipcc (Debian) or install ROCm.")


def hip_version(hipcc: str) -> tuple[int, int]:
    """(major, minor) from `hipcc --version`; (0, 0) when it cannot be read."""
    try:
        out = subprocess.run(
            [hipcc, "--version"], capture_output=True, text=True, timeout=60, env={**os.environ, "HIP_PLATFORM": "amd"}
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return (0, 0)
    m = re.search(r"HIP version:\s*(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _hip_std(hipcc: str) -> str:
    # torch builds extensions with -std=c++20, but clang-15 (HIP 5.x) crashes on torch's headers in
    # C++20 mode; C++17 parses them (with warnings) and is what those compilers get here.
    return "-std=c++20" if hip_version(hipcc) >= (6, 0) else "-std=c++17"


def _thrust_flags() -> list[str]:
    """rocThrust present: nothing. NVIDIA/Debian Thrust: its host device system, so that the
    <thrust/complex.h> torch includes under hipcc does not pull in the CUDA runtime."""
    for root in ("/opt/rocm/include", "/usr/include"):
        if os.path.isdir(os.path.join(root, "thrust", "system", "hip")):
            return []
    return ["-DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_CPP"]


def hip_include_dirs() -> list[str]:
    import torch.utils.cpp_extension as cpp_extension

    return list(cpp_extension.include_paths()) + [sysconfig.get_paths()["include"]]


def hipcc_command(hipcc: str, arch: str, src: Path, obj: Path, std: str | None = None) -> list[str]:
    import torch

    if not re.fullmatch(r"gfx[0-9a-f]+(:[a-z+\-:]+)?", arch.strip()):
        raise PlatformError(f"unknown AMD architecture {arch!r}: use the form gfx942.")
    abi = int(bool(getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", True)))
    cmd = [
        hipcc,
        "-c",
        "-x",
        "hip",
        f"--offload-arch={arch.strip()}",
        std or _hip_std(hipcc),
        "-O3",
        "-DWITH_HIP",
        f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
        "-DTORCH_EXTENSION_NAME=x",
        *TORCH_HIP_FLAGS,
        *_thrust_flags(),
    ]
    cmd += [f"-I{d}" for d in hip_include_dirs()]
    return cmd + [str(src), "-o", str(obj)]


def hipify_source(text: str, workdir: Path) -> str:
    """Run torch's hipify over the text as load_inline does on ROCm (cudaStream_t -> hipStream_t,
    <<<...>>> -> hipLaunchKernelGGL, ATen/cuda -> ATen/hip); the text unchanged when hipify is absent."""
    import contextlib
    import io

    try:
        from torch.utils.hipify import hipify_python
    except ImportError:
        return text
    src = workdir / "cuda.cu"
    src.write_text(text)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        res = hipify_python.hipify(
            project_directory=str(workdir),
            output_directory=str(workdir),
            includes=[str(workdir / "*")],
            extra_files=[str(src)],
            show_detailed=False,
            is_pytorch_extension=True,
            hipify_extra_files_only=True,
            show_progress=False,
        )
    out = res.get(str(src))
    path = Path(out.hipified_path) if out is not None and out.hipified_path else src
    hipified = path.read_text()
    # hipify marks its output with a first comment line; drop it so #line numbering stays exact.
    if hipified.startswith("// !!! This is a file automatically generated by hipify!!!\n"):
        hipified = hipified.split("\n", 1)[1]
    return hipified


def hip_hints(source_text: str, errors: str) -> list[str]:
    """One-line explanations the compiler's own message does not give."""
    hints = []
    if _SYNC_32BIT_MASK_RE.search(strip_c_comments(source_text)):
        hints.append(
            "hint: a *_sync warp builtin is called with a 32-bit lane mask (0xffffffff). AMD "
            "wavefronts have 64 lanes and HIP's *_sync builtins require a 64-bit mask "
            "(0xffffffffffffffffULL); better, use __shfl_xor(v, offset) with no mask."
        )
    m = _MISSING_TORCH_HIP_RE.search(errors)
    if m:
        hints.append(
            f"note: <{m.group(1)}> is a ROCm build of torch's header; this compile-only check uses "
            "a CPU build of torch, which has none, so it cannot check that include."
        )
    return hints


def strip_c_comments(text: str) -> str:
    return re.sub(r"//[^\n]*|/\*.*?\*/", " ", text, flags=re.S)


def compile_hip_only(
    source: str, arch: str = "gfx90a", hipcc: str | None = None, timeout: float = 300
) -> CompileOnlyResult:
    """hipcc -c the candidate's cuda_sources for an AMD target as load_inline would on ROCm (hipify
    pass, torch's HIP flags); ok is False with the first errors, lines in the kernel source."""
    hipcc_path = find_hipcc(hipcc)
    ext = _device_sources(source)
    if isinstance(ext, CompileOnlyResult):
        return ext
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="compile_hip_only_") as tmp:
        text = hipify_source(f'{_LOAD_INLINE_HIP_PREFIX}#line 1 "{HIP_KERNEL_FILE}"\n{ext.cuda}\n', Path(tmp))
        src, obj = Path(tmp) / HIP_KERNEL_FILE, Path(tmp) / "kernel.o"
        src.write_text(text)
        cmd = hipcc_command(hipcc_path, arch, src, obj)
        env = {**os.environ, "HIP_PLATFORM": "amd"}
        code, out = _run(cmd, tmp, timeout, env)
        out = out.replace(str(src), HIP_KERNEL_FILE).replace(tmp + os.sep, "")
    seconds = time.monotonic() - start
    if code is None:
        return CompileOnlyResult(
            ok=False, seconds=seconds, command=cmd, errors=f"hipcc timed out after {timeout:.0f} s\n" + trim_errors(out)
        )
    if code == 0:
        return CompileOnlyResult(ok=True, seconds=seconds, command=cmd)
    errors = trim_errors(out)
    hints = hip_hints(ext.cuda, out)
    if hints:
        errors = "\n".join(hints) + "\n" + errors
    return CompileOnlyResult(ok=False, seconds=seconds, command=cmd, errors=errors)
