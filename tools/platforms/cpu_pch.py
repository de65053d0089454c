"""torch/extension.h precompiled for the cpu platform's builds. Parsing torch's headers is about half of
a small extension's g++ time (18 s of CPU instead of 35-38 s for a fixture with torch 2.13); GCC takes
the precompiled form (extension.h.gch) when it meets it in an include folder ahead of the header and
the build's options match the ones it was made with, and ignores it otherwise (the build then parses
the header as before: same output, slower).

The harness makes it, outside the sandbox, from torch's own header with torch's own flags and the
candidate's extra_cflags, and only when every one of those flags is in SAFE_FLAGS: no candidate text
reaches a compiler run here. Each flag set gets its own folder under the cache's headers/ (about
0.8 GB each with torch 2.13; the first MAX_VARIANTS sets only, stale ones included: remove the folder
after a torch or compiler upgrade), written once and atomically, and seen read-only inside the
sandbox (tools.harness.jail); a build reaches it through CPATH, searched before torch's -isystem
folders. The folder also links torch/extension.h back to torch's header, so a second #include of it
resolves."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import inspect
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

# Flags that change code generation only: a PCH made with them holds nothing a candidate chose.
SAFE_FLAGS = frozenset(
    ["-O0", "-O1", "-O2", "-O3", "-Os", "-Ofast", "-g", "-g0", "-DNDEBUG", "-fopenmp", "-ffast-math"]
    + ["-funroll-loops", "-march=native", "-mtune=native", "-mavx", "-mavx2", "-mfma", "-mavx512f", "-w", "-Wall"]
)
HEADER = Path("torch") / "extension.h"
MAX_VARIANTS = 4  # flag sets given a PCH per cache (disk: about 0.8 GB each); later ones build without
FAILED = "FAILED"  # in a variant's folder: making it failed once, so builds go without it


def extra_cflags(build_calls: list[dict] | None) -> list[str] | None:
    """The extra_cflags every load_inline call shares, when a PCH can serve them all: plain C++ calls
    (no CUDA or SYCL sources, no extra include folders, torch's implicit #include kept) whose flags are
    all safe. None otherwise."""
    if not build_calls:
        return None
    shared = None
    for call in build_calls:
        kw = call.get("kwargs", {})
        if call.get("args", [])[2:] or any(kw.get(k) for k in ("cuda_sources", "sycl_sources", "extra_include_paths")):
            return None
        if kw.get("no_implicit_headers") or kw.get("with_cuda") or kw.get("use_pch"):
            return None
        flags = kw.get("extra_cflags") or []
        flags = [flags] if isinstance(flags, str) else flags
        if not isinstance(flags, list) or not all(isinstance(f, str) and f.strip() in SAFE_FLAGS for f in flags):
            return None
        flags = [f.strip() for f in flags]
        if shared is not None and flags != shared:
            return None
        shared = flags
    return shared


def folder(root: Path, build_calls: list[dict] | None) -> Path | None:
    """The include folder holding the PCH for these calls, made now if it is missing; None where there is
    none to use (unsafe or mixed flags, not GCC, a failed or concurrent make)."""
    flags = extra_cflags(build_calls)
    if flags is None:
        return None
    made = _command(tuple(flags))
    if made is None:
        return None
    command, key = made
    where = root / key
    if (where / f"{HEADER}.gch").is_file():
        return where
    if (where / FAILED).exists() or len([p for p in root.glob("[!.]*") if p.is_dir()]) >= MAX_VARIANTS:
        return None
    return _make(root, where, command)


def _make(root: Path, where: Path, command: list[str]) -> Path | None:
    """Make the PCH under a lock; a build that finds another process making it goes without."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{where.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None
        if (where / f"{HEADER}.gch").is_file():
            return where
        staging = Path(tempfile.mkdtemp(prefix=f".{where.name}.", dir=root))
        try:
            (staging / HEADER).parent.mkdir(parents=True)
            (staging / HEADER).symlink_to(_torch_header())
            proc = subprocess.run(
                [*command, "-o", str(staging / f"{HEADER}.gch")], capture_output=True, text=True, timeout=900
            )
            if proc.returncode != 0:
                (staging / FAILED).write_text(proc.stdout + proc.stderr)
            staging.chmod(0o755)  # mkdtemp's 0700: the folder is read by every build
            shutil.rmtree(where, ignore_errors=True)
            os.replace(staging, where)
        except (OSError, subprocess.SubprocessError):
            return None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return where if (where / f"{HEADER}.gch").is_file() else None


def _torch_header() -> Path:
    from torch.utils.cpp_extension import include_paths

    return Path(include_paths("cpu")[0]) / HEADER


@functools.cache
def _command(flags: tuple[str, ...]) -> tuple[list[str], str] | None:
    """torch's compile command for a plain C++ load_inline build with these extra_cflags, made into a
    header compile, and its key (with the compiler's version); None where the compiler is not GCC (only
    GCC reads .gch files this way)."""
    from torch.utils import cpp_extension as ce

    cxx = ce.get_cxx_compiler()
    if not shutil.which(cxx) or not ce.check_compiler_is_gcc(cxx):
        return None
    cflags = _torch_cflags(ce, list(flags))
    if cflags is None:
        return None
    command = [cxx, "-x", "c++-header", str(_torch_header()), *cflags]
    return command, hashlib.sha256("\0".join([*command, _compiler_version(cxx)]).encode()).hexdigest()[:16]


def _torch_cflags(ce, flags: list[str]) -> list[str] | None:
    """The cflags torch writes into a load_inline build.ninja, read from one it writes for these flags,
    without the extension's name (a -D the header never reads: GCC checks that when it loads the PCH)."""
    args = {
        "name": "hipgen_pch",
        "sources": ["main.cpp"],
        "extra_cflags": flags,
        "extra_cuda_cflags": [],
        "extra_sycl_cflags": [],
        "extra_ldflags": [],
        "extra_include_paths": [],
        "with_cuda": False,
        "with_sycl": False,
        "is_standalone": False,
    }
    try:
        write = ce._write_ninja_file_to_build_library
        wanted = inspect.signature(write).parameters
        with tempfile.TemporaryDirectory() as tmp:
            write(os.path.join(tmp, "build.ninja"), **{k: v for k, v in args.items() if k in wanted})
            text = Path(tmp, "build.ninja").read_text()
    except Exception:  # noqa: BLE001 - a torch whose private writer differs: build without a PCH
        return None
    line = next((ln for ln in text.splitlines() if ln.startswith("cflags = ")), None)
    if line is None:
        return None
    return [f for f in shlex.split(line[len("cflags = ") :]) if not f.startswith("-DTORCH_EXTENSION_NAME=")]


def _compiler_version(cxx: str) -> str:
    try:
        return subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
