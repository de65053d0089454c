"""Runs one worker process: fresh, in its own process group, with a scrubbed environment, a wall-clock
limit per phase, and results read from a private pipe. Whatever the candidate does, this returns."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path

from pydantic import BaseModel, Field

from tools.harness.protocol import WorkerRequest
from tools.harness.spares import SparePool, Started, discard, request_env, start_worker

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


def run_worker(
    req: WorkerRequest,
    *,
    env: dict[str, str],
    workdir: Path,
    timeouts: dict[str, float],
    log_limit: int = 3000,
    prefix: list[str] | None = None,
    spares: SparePool | None = None,
    started: Started | None = None,
) -> WorkerOutcome:
    """`prefix` wraps the worker in a profiler command (rocprofv3 ... --). `spares`: take a waiting
    worker for this environment if there is one, and leave a new one waiting afterwards. `started`: a
    ready spare the caller took already (it waited for it before asking for a device)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "worker.log"
    log_path.unlink(missing_ok=True)
    t_start = time.monotonic()
    pooled = spares is not None and not prefix and started is None
    if pooled:
        started = spares.take(env)
    out = WorkerOutcome(spare=started is not None)
    if pooled and spares.early:
        spares.replenish(env)
    if started is None:
        started = start_worker(env, workdir, log_path, prefix)
    req = req.model_copy(
        update={
            "channel_fd": started.child_fd,
            "workdir": str(workdir),
            "log_path": str(log_path),
            "env": request_env(env),
        }
    )
    proc = started.proc
    try:
        try:
            proc.stdin.write(req.model_dump_json().encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        _pump(proc, started.read_fd, out, timeouts, t_start, started.pending)
        if prefix and out.finished:
            # A profiler writes its report when its target exits: killing the group at once loses it.
            try:
                proc.wait(timeout=timeouts.get("profiler_exit", 300.0))
            except subprocess.TimeoutExpired:
                pass
    finally:
        discard(started)
    out.returncode = proc.returncode
    out.wall_seconds = time.monotonic() - t_start
    out.setup_seconds += started.ready_wait
    out.log_tail = _tail(log_path, log_limit)
    if pooled and not spares.early:
        spares.replenish(env)
    return out


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
