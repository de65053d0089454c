"""Worker processes started ahead of need. A spare has Python, torch and the harness imported (about
3 s of every evaluation on the H100 machines, 1-2 s on a laptop), says so on its channel, and waits on
stdin for its request; it touches no device until it gets one, so a spare never disturbs a measurement
running on a GPU.

Spares differ only in what their request cannot set: the device a lane uses, the build folder and the
build target are set by the worker itself when the request comes (PER_REQUEST_ENV), so on a GPU one pool
serves every lane, and a run can start its spares before the device probe has told it the arch. There
an evaluation takes a spare and waits for it to be ready before it asks for a lane, so a GPU is never
held while Python imports; taking one starts its replacement at once. On the cpu platform
(whose CPU is being timed) the spare is taken inside the lane and replaced after the evaluation.
A spare's process is a candidate's process once taken: same scrubbed environment, own session, killed
with its group afterwards."""

from __future__ import annotations

import itertools
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tools.harness import slot

if TYPE_CHECKING:
    from tools.harness.jail import Jail

# Set per request by the worker itself (tools.harness.worker.adopt), before it touches a device. The build
# target (the platforms' build_env) is read by torch's cpp_extension and the compilers only when a build
# runs, so it takes effect when set then.
PER_REQUEST_ENV = (
    "TORCH_EXTENSIONS_DIR",
    "CUDA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "TORCH_CUDA_ARCH_LIST",
    "PYTORCH_ROCM_ARCH",
    "HIPKITTENS_ROOT",
    "CPLUS_INCLUDE_PATH",
    "CPATH",
    "HIPCC_COMPILE_FLAGS_APPEND",
)
READY = b'{"event": "ready"}\n'


def spare_env(env: dict[str, str]) -> dict[str, str]:
    """The environment a spare starts with: everything but what its request sets."""
    return {k: v for k, v in env.items() if k not in PER_REQUEST_ENV}


def request_env(env: dict[str, str]) -> dict[str, str]:
    """What a worker sets for itself from its request."""
    return {k: env[k] for k in PER_REQUEST_ENV if k in env}


def env_key(env: dict[str, str]) -> tuple:
    return tuple(sorted(spare_env(env).items()))


@dataclass
class Started:
    """A worker process with its stdin open and the write end of its private channel passed in."""

    proc: subprocess.Popen
    read_fd: int  # the agent's end of the channel
    child_fd: int  # the number the worker writes to (same in the child: pass_fds keeps numbers)
    ready: bool = False
    ready_wait: float = 0.0  # seconds an evaluation waited for this worker's imports
    pending: bytes = b""  # channel bytes read past the ready line
    discarded: bool = False
    slot: Path | None = None  # inside a sandbox: the one folder it may write (tools.harness.slot)

    def wait_ready(self, timeout: float) -> bool:
        """Block until the spare has said it is ready; False if it died or took longer than `timeout`."""
        t0 = time.monotonic()
        buf = b""
        while not self.ready:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                break
            if not select.select([self.read_fd], [], [], min(left, 0.5))[0]:
                if self.proc.poll() is not None:
                    break
                continue
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                break
            buf += chunk
            line, sep, rest = buf.partition(b"\n")
            if sep:
                self.ready = line + sep == READY
                if not self.ready:
                    break
                self.pending = rest
        self.ready_wait += time.monotonic() - t0
        return self.ready


def start_worker(
    env: dict[str, str],
    cwd: Path,
    log_path: Path,
    prefix: list[str] | None = None,
    spare: bool = False,
    jail: Jail | None = None,
) -> Started:
    """A worker; a spare one imports ahead of its request and writes READY on its channel when it has.
    With a jail, the worker runs inside it and `cwd` is its slot."""
    r_fd, w_fd = os.pipe()
    argv = [*(prefix or []), sys.executable, "-m", "tools.harness.worker", *(["--spare", str(w_fd)] if spare else [])]
    if jail is not None:
        env = env | slot.env(slot.make(cwd))
        argv = jail.wrap(argv, cwd, cwd / "build")
    cwd.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            pass_fds=(w_fd,),
            start_new_session=True,
        )
    os.close(w_fd)
    return Started(proc, r_fd, w_fd, slot=cwd if jail is not None else None)


def discard(started: Started) -> None:
    """Kill the worker's group and close our ends; a second call does nothing (its fd numbers may
    belong to another worker by then)."""
    if started.discarded:
        return
    started.discarded = True
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


def _sweep(folder: Path) -> None:
    """Slots left by spares of runs that died (kill -9): named for their agent's pid."""
    for old in folder.glob("*-*") if folder.is_dir() else []:
        pid = old.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_SPAWNER: list[ThreadPoolExecutor] = []
_SPAWNER_LOCK = threading.Lock()


def _spawner() -> ThreadPoolExecutor:
    """One thread per process, alive as long as the process, that starts every spare."""
    with _SPAWNER_LOCK:
        if not _SPAWNER:
            _SPAWNER.append(ThreadPoolExecutor(1, thread_name_prefix="hipgen-spares"))
        return _SPAWNER[0]


class SparePool:
    def __init__(self, folder: Path, early: bool = False, depth: int = 1, jail: Jail | None = None):
        """early: start the replacement when a spare is taken, not when its evaluation ends.
        depth: spares kept waiting per environment (set by the evaluator). jail: spares run inside it,
        each in a slot of its own under `folder`."""
        self.folder = folder
        self.early = early
        self.depth = depth
        self.jail = jail
        self._count = itertools.count()
        if jail is not None:
            _sweep(folder)
        self._spares: dict[tuple, list[Started]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, env: dict[str, str]) -> Started | None:
        """The oldest waiting spare for this environment, if one is alive."""
        with self._lock:
            waiting = self._spares.get(env_key(env), [])
            spare = waiting.pop(0) if waiting else None
        if spare is not None and spare.proc.poll() is not None:
            discard(spare)
            return None
        return spare

    def take_ready(self, env: dict[str, str], timeout: float) -> Started | None:
        """A spare for this environment that has finished its imports, started now if none waits, with
        its replacement started; None if it could not get ready within `timeout` (the caller then starts
        a worker of its own, whose failure it reports)."""
        spare = self.take(env)
        if spare is None:
            self.replenish(env)
            spare = self.take(env)
        self.replenish(env)
        if spare is None:  # the pool is closed
            return None
        if spare.wait_ready(timeout):
            return spare
        discard(spare)
        return None

    def replenish(self, env: dict[str, str]) -> None:
        """Start spares for this environment until `depth` of them wait."""
        key = env_key(env)
        with self._lock:
            if self._closed:
                return
            waiting = self._spares.setdefault(key, [])
            while len(waiting) < self.depth:
                waiting.append(self._start(spare_env(env)))

    def _start(self, env: dict[str, str]) -> Started:
        """Started from the pool's own thread: a jailed worker dies with the thread that started it
        (bwrap's --die-with-parent is the kernel's parent-death signal, which follows the thread), and a
        spare must outlive whichever evaluation thread asked for it."""
        return _spawner().submit(self._start_here, env).result()

    def _start_here(self, env: dict[str, str]) -> Started:
        if self.jail is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            return start_worker(env, self.folder, self.folder / "spares.log", spare=True)
        where = self.folder / f"{os.getpid()}-{next(self._count)}"
        return start_worker(env, where, where / "worker.log", spare=True, jail=self.jail)

    def processes(self) -> list[subprocess.Popen]:
        with self._lock:
            return [s.proc for waiting in self._spares.values() for s in waiting]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            spares = [s for waiting in self._spares.values() for s in waiting]
            self._spares = {}
        for spare in spares:
            discard(spare)
            if spare.slot is not None:
                shutil.rmtree(spare.slot, ignore_errors=True)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(waiting) for waiting in self._spares.values())
