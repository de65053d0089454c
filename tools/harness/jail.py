"""The isolation layer around every process that runs candidate code (builds, checks, timing, profiling,
spares): bubblewrap. Inside, the worker sees the system's programs and libraries, Python and its
packages, the harness's own code, the cache's precompiled headers and the GPU's device nodes, all
read-only; its own folder (its slot) read-write, its build folder at one fixed path, a private /tmp, its
own pid namespace, no network, and nothing of the user's home, the project, the results or the other
cache entries."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools.errors import PlatformError

# Where a sandboxed worker finds its build folder, whatever slot holds it: load_inline's build.ninja
# names absolute paths, so a build copied between slots is up to date only at the same path.
INSIDE_BUILD = Path("/hipgen/build")
_SYSTEM = ("/usr", "/opt")
_ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What the dynamic linker, the compilers (through alternatives) and Python's pwd lookups read of /etc.
_ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "passwd",
    "group",
    "nsswitch.conf",
    "localtime",
    "os-release",
    "hosts",
)
_INSTALL = (
    "Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; the binary can also be "
    "unpacked from the .deb and named by HIPGEN_BWRAP"
)


class SandboxUnavailable(PlatformError):
    pass


@functools.cache
def find_bwrap() -> str:
    """bubblewrap's path, once it has shown it can make the namespaces the sandbox needs here."""
    path = os.environ.get("HIPGEN_BWRAP") or shutil.which("bwrap")
    if not path or not os.access(path, os.X_OK):
        raise SandboxUnavailable(
            f"bubblewrap (bwrap) is not installed, and candidate code is run only inside it: "
            f"install it ({_INSTALL}), or pass --unsafe-no-sandbox to run candidates with "
            f"your own rights."
        )
    probe = [path, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--die-with-parent", "true"]
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        failed = proc.returncode != 0
        why = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    except (OSError, subprocess.SubprocessError) as e:
        failed, why = True, str(e)
    if failed:
        raise SandboxUnavailable(
            f"bubblewrap cannot make its namespaces on this machine ({why[:200]}): allow them "
            f"(as root, or with unprivileged user namespaces enabled), or pass "
            f"--unsafe-no-sandbox to run candidates with your own rights."
        )
    return path


def _python_paths() -> list[Path]:
    """Python, its packages and the harness's code. A folder on sys.path that holds the harness itself (a
    source checkout) shows only its tools/ package: the rest of the project may hold secrets."""
    import tools

    harness = Path(tools.__file__).resolve().parent
    found = {Path(p) for p in (sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix)}
    for entry in sys.path:
        p = Path(entry or os.getcwd()).resolve()
        if not p.is_dir():
            continue
        found.add(harness if harness.parent == p else p)
    found.add(harness)
    return sorted(found)


def _outermost(paths: list[Path]) -> list[Path]:
    kept: list[Path] = []
    for p in sorted(set(paths), key=lambda q: len(q.parts)):
        if not any(p == k or k in p.parents for k in kept):
            kept.append(p)
    return kept


class Jail:
    def __init__(self, devices: list[str], bwrap: str | None = None, readonly: list[Path] = ()):
        """devices: the device nodes the platform's workers need (tools.platforms: sandbox_devices);
        readonly: more folders the workers see read-only, at their own paths (the cache's headers/)."""
        self.bwrap = bwrap or find_bwrap()
        self.devices = devices
        extra = [Path(p) for p in readonly if Path(p).is_dir()]
        self.readonly = _outermost([Path(p) for p in _SYSTEM if Path(p).is_dir()] + _python_paths() + extra)

    def wrap(self, argv: list[str], slot: Path, build: Path | None) -> list[str]:
        """argv inside the sandbox: `slot` read-write at its own path, `build` read-write at INSIDE_BUILD."""
        cmd = [
            self.bwrap,
            "--die-with-parent",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
        ]
        for link in _ROOT_LINKS:
            if os.path.islink(link):
                cmd += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                cmd += ["--ro-bind", link, link]
        for p in self.readonly:
            cmd += ["--ro-bind", str(p), str(p)]
        cmd += ["--ro-bind-try", "/sys", "/sys"]
        for name in _ETC:
            cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        for dev in self.devices:
            cmd += ["--dev-bind-try", dev, dev]
        cmd += ["--bind", str(slot), str(slot)]
        if build is not None:
            cmd += ["--bind", str(build), str(INSIDE_BUILD)]
        return [*cmd, "--chdir", str(slot), "--", *argv]
