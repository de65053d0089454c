"""Worker processes started ahead of need. A spare has Python, torch and the harness imported (5-10 s
of every evaluation on the H100 machines, 1-2 s on a laptop) and waits on stdin for its request; it touches no device until it
gets one, so a spare never disturbs a measurement running on its GPU.

One spare per environment (a lane's environment: its visible devices, its build flags). Taking one
starts its replacement, at once on a GPU or once the taker is done on the cpu platform (whose CPU is
being timed), so it is ready for the lane's next evaluation; an evaluation that
finds no spare starts a fresh worker exactly as before. A spare's process is a candidate's process
once taken: same scrubbed environment, own session, killed with its group afterwards."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

# Set per request by the worker itself (tools.worker.adopt), so spares differ only in the rest.
PER_REQUEST_ENV = ("TORCH_EXTENSIONS_DIR",)


def spare_env(env: dict[str, str]) -> dict[str, str]:
    """The environment a spare starts with: everything but what its request sets."""
    return {k: v for k, v in env.items() if k not in PER_REQUEST_ENV}


def env_key(env: dict[str, str]) -> tuple:
    return tuple(sorted(spare_env(env).items()))


@dataclass
class Started:
    """A worker process with its stdin open and the write end of its private channel passed in."""
    proc: subprocess.Popen
    read_fd: int      # the agent's end of the channel
    child_fd: int     # the number the worker writes to (same in the child: pass_fds keeps numbers)


def start_worker(argv_extra: list[str], env: dict[str, str], cwd: Path, log_path: Path,
                 prefix: list[str] | None = None) -> Started:
    r_fd, w_fd = os.pipe()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([*(prefix or []), sys.executable, "-m", "tools.worker", *argv_extra],
                                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                pass_fds=(w_fd,), start_new_session=True)
    os.close(w_fd)
    return Started(proc, r_fd, w_fd)


def discard(started: Started) -> None:
    try:
        os.killpg(started.proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        started.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.close(started.read_fd)
    except OSError:
        pass
    if started.proc.stdin:
        try:
            started.proc.stdin.close()
        except OSError:
            pass


class SparePool:
    def __init__(self, folder: Path, early: bool = False):
        """early: start the replacement when a spare is taken, not when its evaluation ends."""
        self.folder = folder
        self.early = early
        self._spares: dict[tuple, Started] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, env: dict[str, str]) -> Started | None:
        """The waiting spare for this environment, if one is alive."""
        with self._lock:
            spare = self._spares.pop(env_key(env), None)
        if spare is not None and spare.proc.poll() is not None:
            discard(spare)
            return None
        return spare

    def replenish(self, env: dict[str, str]) -> None:
        """Start a spare for this environment unless one is waiting."""
        key = env_key(env)
        with self._lock:
            if self._closed or key in self._spares:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            self._spares[key] = start_worker(["--spare"], spare_env(env), self.folder, self.folder / "spares.log")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            spares, self._spares = list(self._spares.values()), {}
        for spare in spares:
            discard(spare)

    def __len__(self) -> int:
        return len(self._spares)
