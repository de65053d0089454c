"""One `agent solve` per results folder: `<out>/run.lock`, held with an flock for the whole run and naming
its pid and host. The kernel drops an flock when its process dies however it dies, so a lock left by a
killed run is simply taken by the next one."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from pathlib import Path

from agent.store import now_iso
from tools.errors import ConfigError

LOCK_NAME = "run.lock"


class RunLock:
    def __init__(self, out: Path):
        self.path = Path(out) / LOCK_NAME
        self._fd: int | None = None
        self._made_dir = False

    def acquire(self) -> RunLock:
        self._made_dir = not self.path.parent.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(os.read(fd, 4096))
            os.close(fd)
            raise ConfigError(
                f"{self.path.parent} is in use by another agent solve ({holder}): wait for it to finish or stop "
                f"it, or pass another --out."
            ) from None
        record = {"pid": os.getpid(), "host": socket.gethostname(), "since": now_iso(), "argv": sys.argv[1:]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        self._fd = fd
        return self

    def release(self, keep_dir: bool = True) -> None:
        """Unlock; the file stays (unlinking it would let two runs lock two different files). A folder
        this lock created for a run that never started is removed again."""
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        if not keep_dir and self._made_dir and [p.name for p in self.path.parent.iterdir()] == [LOCK_NAME]:
            self.path.unlink()
            self.path.parent.rmdir()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def holder(out: Path) -> str | None:
    """Who holds `out`'s lock right now ("pid 123 on host h, since ..."), or None when no run does."""
    path = Path(out) / LOCK_NAME
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _describe(os.read(fd, 4096))
    finally:
        os.close(fd)
    return None


def _describe(raw: bytes) -> str:
    try:
        rec = json.loads(raw.decode() or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        rec = {}
    if not rec.get("pid"):
        return "a process that has not written its pid yet"
    return f"pid {rec['pid']} on host {rec.get('host', '?')}, since {rec.get('since', '?')}"
