"""Runs one worker process: fresh, in its own process group, with a scrubbed environment, a wall-clock
limit per phase, and results read from a private pipe. Whatever the candidate does, this returns."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from tools.harness import slot
from tools.harness.jail import INSIDE_BUILD, Jail
from tools.harness.protocol import WorkerRequest
from tools.harness.spares import SparePool, Started, discard, request_env, spare_env, start_worker

# Only what a compiler and the GPU runtime need. Keys, tokens and credentials never reach a candidate.
_PASS_ENV = {
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "TZ",
    "CUDA_HOME",
    "CUDA_PATH",
    "ROCM_HOME",
    "ROCM_PATH",
    "HIP_PATH",
    "HIP_PLATFORM",
    "LD_LIBRARY_PATH",
    "LIBRARY_PATH",
    "CPATH",
    "CC",
    "CXX",
    "MAX_JOBS",
    "TORCH_CUDA_ARCH_LIST",
    "PYTORCH_ROCM_ARCH",
    "PYTORCH_NVCC",
    "CUDA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "HIPKITTENS_ROOT",
    "NCCL_NVLS_ENABLE",
    "TORCH_SYMM_MEM_DISABLE_MULTICAST",
    "NVSHMEM_DISABLE_NVLS",
    "OMP_NUM_THREADS",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
}
_SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "AUTH")


def scrubbed_env(extra: dict[str, str], home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _PASS_ENV and not any(m in k.upper() for m in _SECRET_MARKERS)}
    env.update(extra)
    env.update({"HOME": str(home), "TMPDIR": str(home), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


class WorkerOutcome(BaseModel):
    records: list[dict] = Field(default_factory=list)
    finished: bool = False  # the worker reported "done" or "fail"
    timed_out_phase: str | None = None
    timeout_s: float | None = None
    returncode: int | None = None
    log_tail: str = ""
    wall_seconds: float = 0.0
    setup_seconds: float = 0.0  # from asking for a worker to its first phase: start, imports, device
    spare: bool = False  # a spare worker, started ahead of need, ran it


@dataclass
class BuildFolder:
    """The cache entry a worker imports its build from, or makes it in; `keep`: a run that ends well
    (a build) leaves its build as the entry; `headers`: an include folder of precompiled headers the
    build's compiler searches first (CPATH), made by the harness (tools.platforms.cpu_pch)."""

    path: Path
    keep: bool = False
    headers: Path | None = None


class WorkerRunner:
    """Runs workers for one evaluator: fresh or spare, inside the jail when there is one."""

    def __init__(
        self,
        timeouts: dict[str, float],
        spares: SparePool | None = None,
        jail: Jail | None = None,
        log_limit: int = 3000,
    ):
        self.timeouts, self.spares, self.jail, self.log_limit = timeouts, spares, jail, log_limit

    def run(
        self,
        req: WorkerRequest,
        env: dict[str, str],
        workdir: Path,
        prefix: list[str] | None = None,
        started: Started | None = None,
        build: BuildFolder | None = None,
    ) -> WorkerOutcome:
        """`prefix` wraps the worker in a profiler command (rocprofv3 ... --), which writes into `workdir`.
        `started`: a ready spare the caller took already (it waited for it before asking for a device);
        else one is taken from the spares if there are any, and a new one left waiting afterwards."""
        workdir.mkdir(parents=True, exist_ok=True)
        t_start = time.monotonic()
        pooled = self.spares is not None and not prefix and started is None
        if pooled:
            started = self.spares.take(env)
        out = WorkerOutcome(spare=started is not None)
        if pooled and self.spares.early:
            self.spares.replenish(env)
        if started is None:
            (workdir / "worker.log").unlink(missing_ok=True)
            started = start_worker(env, workdir, workdir / "worker.log", prefix, jail=self.jail)
        where = started.slot or workdir
        req = self._prepare(req, env, where, build)
        try:
            _drive(started, req, out, self.timeouts, t_start, profiled=bool(prefix))
        finally:
            discard(started)
        out.returncode = started.proc.returncode
        if self.jail is not None and out.returncode is not None and 128 < out.returncode <= 128 + 64:
            out.returncode = 128 - out.returncode  # bubblewrap exits 128+N for a child killed by signal N
        out.wall_seconds = time.monotonic() - t_start
        out.setup_seconds += started.ready_wait
        out.log_tail = _tail(where / "worker.log", self.log_limit)
        self._finish(out, where, workdir, build)
        if pooled and not self.spares.early:
            self.spares.replenish(env)
        return out

    def start_ready(self, env: dict[str, str], workdir: Path, prefix: list[str], timeout: float) -> Started | None:
        """A worker of its own, wrapped in `prefix`, that imports now and waits for its request; None if
        it was not ready within `timeout` (the caller then starts one as run() does, whose failure it
        reports)."""
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "worker.log").unlink(missing_ok=True)
        started = start_worker(spare_env(env), workdir, workdir / "worker.log", prefix, spare=True, jail=self.jail)
        if started.wait_ready(timeout):
            return started
        discard(started)
        return None

    def _prepare(self, req: WorkerRequest, env: dict[str, str], where: Path, build: BuildFolder | None):
        wenv = request_env(env)
        if build is not None and build.headers is not None:
            wenv["CPATH"] = os.pathsep.join([str(build.headers), *filter(None, [wenv.get("CPATH")])])
        if self.jail is not None:
            req = slot.take_inputs(req, where)
            if build is not None:
                slot.take_build(build.path, where)
                wenv["TORCH_EXTENSIONS_DIR"] = str(INSIDE_BUILD)
        elif build is not None:
            wenv["TORCH_EXTENSIONS_DIR"] = str(build.path)
        return req.model_copy(update={"workdir": str(where), "log_path": str(where / "worker.log"), "env": wenv})

    def _finish(self, out: WorkerOutcome, where: Path, workdir: Path, build: BuildFolder | None) -> None:
        done = out.finished and bool(out.records) and out.records[-1].get("event") == "done"
        if build is not None and build.keep and done:
            if self.jail is not None:
                slot.give_build(where, build.path)
            else:
                (build.path / slot.BUILT).touch()
        if self.jail is None:
            return
        if where != workdir:  # a spare's slot: its log goes where a fresh worker's would have been
            shutil.copyfile(where / "worker.log", workdir / "worker.log")
            shutil.rmtree(where, ignore_errors=True)
        else:
            slot.clear(where)


def run_worker(
    req: WorkerRequest,
    *,
    env: dict[str, str],
    workdir: Path,
    timeouts: dict[str, float],
    prefix: list[str] | None = None,
    spares: SparePool | None = None,
    started: Started | None = None,
) -> WorkerOutcome:
    """One worker, outside any jail (tests of the runner itself); see WorkerRunner.run."""
    return WorkerRunner(timeouts, spares).run(req, env, workdir, prefix, started)


def _drive(
    started: Started, req: WorkerRequest, out: WorkerOutcome, timeouts: dict[str, float], t_start: float, profiled: bool
) -> None:
    """Hand the worker its request and read its channel until it finishes, dies or runs out of time."""
    proc = started.proc
    req = req.model_copy(update={"channel_fd": started.child_fd})
    try:
        proc.stdin.write(req.model_dump_json().encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    _pump(proc, started.read_fd, out, timeouts, t_start, started.pending)
    if profiled and out.finished:
        # A profiler writes its report when its target exits: killing the group at once loses it.
        try:
            proc.wait(timeout=timeouts.get("profiler_exit", 300.0))
        except subprocess.TimeoutExpired:
            pass


def _pump(
    proc: subprocess.Popen, r_fd: int, out: WorkerOutcome, timeouts: dict[str, float], t_start: float, buf: bytes = b""
) -> None:
    phase, phase_start = "setup", time.monotonic()
    eof = False
    while True:
        limit = timeouts.get(phase, timeouts.get("default", 300.0))
        if time.monotonic() - phase_start > limit:
            out.timed_out_phase, out.timeout_s = phase, limit
            return
        if eof:
            if proc.poll() is not None:
                return
            time.sleep(0.05)
            continue
        ready, _, _ = select.select([r_fd], [], [], 0.2)
        if not ready:
            if proc.poll() is not None and not select.select([r_fd], [], [], 0)[0]:
                return
            continue
        chunk = os.read(r_fd, 1 << 16)
        if not chunk:
            eof = True
            continue
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(rec, dict) or rec.get("event") == "ready":  # a spare's, before its request
                continue
            out.records.append(rec)
            if rec.get("event") == "start":
                if phase == "setup":
                    out.setup_seconds = time.monotonic() - t_start
                phase, phase_start = str(rec.get("phase")), time.monotonic()
            elif rec.get("event") in ("done", "fail"):
                out.finished = True
                return


def _tail(path: Path, limit: int) -> str:
    try:
        data = path.read_bytes()[-limit:]
    except OSError:
        return ""
    return data.decode("utf-8", "replace")


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "the worker did not exit"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = {
            "SIGSEGV": " (segmentation fault)",
            "SIGKILL": " (killed, possibly out of memory)",
            "SIGABRT": " (aborted)",
            "SIGBUS": " (bus error)",
            "SIGFPE": " (arithmetic fault)",
        }.get(name, "")
        return f"the worker died with {name}{hint}"
    return f"the worker exited with code {returncode} before reporting a result"
