"""Compile a candidate's CUDA source with nvcc, without a GPU and without linking or importing it
(HIP: tools.harness.hip_compile).

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
    resources: str = Field(default="", description="registers, LDS, scratch and occupancy per kernel, where known")
    kernels: list[dict] = Field(default_factory=list, description="the same, per kernel, as data")


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
