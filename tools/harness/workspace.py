"""The evaluator's folder (the cache dir): what lives where, and the names that key it.

home/                 the workers', compilers' and profilers' HOME and TMPDIR
candidates/<h>.py     each distinct candidate source, written once
extensions/b<h>/      a build folder per distinct native build (what the compiler sees)
headers/<k>/          precompiled headers the builds use (tools.platforms.cpu_pch): written by the harness
                      only, read-only inside the sandbox
extensions/b<h>.lock  held while that build folder is checked and made
runs/<name>.<host>.<pid>/  one folder per worker run: its log and whatever a profiler writes
runs/spares/<host>/   where this machine's waiting spare workers start

The host is in those names because a cache folder may be shared by several machines (a Ray cluster on
shared storage), where process ids repeat."""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def source_hash(source: str, platform: str, arch: str | None) -> str:
    import torch

    h = hashlib.sha256()
    for part in (source, platform, arch or "", torch.__version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def build_hash(source: str, build_key: str | None, platform: str, arch: str | None, jailed: bool) -> str:
    """The build folder's name: what the compiler sees (the load_inline arguments) when the source
    shows it plainly, else the whole file. Candidates that differ only in Python share one build. A
    build made in the sandbox names other paths than one made outside it, so each has its own."""
    what = build_key if build_key is not None else "file\0" + source
    return ("j" if jailed else "b") + source_hash(what, platform, arch)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Workspace:
    def __init__(self, root: Path):
        self.root = Path(root).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        self.headers.mkdir(exist_ok=True)  # bound read-only into the sandbox, so it must exist first

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def headers(self) -> Path:
        return self.root / "headers"

    @property
    def spares(self) -> Path:
        """This machine's own: its stale spares are found by process id, which only this machine can ask."""
        return self.root / "runs" / "spares" / socket.gethostname()

    def run_dir(self, name: str) -> Path:
        """A worker run's folder, this process's own: two runs (or two test processes) sharing a cache
        evaluate the same source under the same name, and a finished worker clears its folder's input
        copies, which the other's worker was about to read."""
        return self.root / "runs" / f"{name}.{socket.gethostname()}.{os.getpid()}"

    def build_dir(self, name: str) -> Path:
        return self.root / "extensions" / name

    @contextmanager
    def build_lock(self, name: str) -> Iterator[None]:
        """Held while build folder `name` is checked and made, by every process sharing the cache (two
        runs, two Ray lanes of one node): each build is made once, and never read half made."""
        path = self.root / "extensions" / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def candidate_file(self, h: str) -> Path:
        return self.root / "candidates" / f"{h}.py"

    def write_candidate(self, h: str, source: str) -> Path:
        path = self.candidate_file(h)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source)
            os.replace(tmp, path)
        return path
