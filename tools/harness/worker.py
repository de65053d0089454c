"""The worker process: one per evaluation (or a spare, started ahead of need), running the requested
phases against the reference and reporting each on its private channel.

Started by tools.harness.spares as `python -m tools.harness.worker`, with the request on stdin; a
spare imports first and says READY. The process ends with os._exit so no candidate hook runs after
the verdict."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

from tools.harness.protocol import Phase, WorkerRequest
from tools.harness.results import Status
from tools.harness.spares import READY


class Channel:
    def __init__(self, fd: int):
        self._fd = fd

    def send(self, **record) -> None:
        data = (json.dumps(record, default=str) + "\n").encode()
        while data:
            n = os.write(self._fd, data)
            data = data[n:]


def _limit_resources() -> None:
    """A candidate that prints without end or dumps core must not fill the disk."""
    import resource

    for what, value in ((resource.RLIMIT_FSIZE, 4 << 30), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(what, (value, value))
        except (ValueError, OSError):
            pass


def probe() -> dict:
    from tools.platforms import get_platform

    req_platform = sys.argv[2] if len(sys.argv) > 2 else None
    index = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    return get_platform(req_platform).describe(index)


def preload() -> None:
    """What every evaluation imports, done by a spare before its request exists. No device use, and no
    driver initialisation: the request names the lane's device afterwards, and the driver reads
    CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES once, when it starts."""
    before = os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK")
    # Should an import ask torch.cuda.is_available(), NVML answers it without starting the driver.
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    try:
        import torch  # noqa: F401
        import torch.autograd.profiler  # noqa: F401
        import torch.profiler  # noqa: F401
        import torch.utils.flop_counter  # noqa: F401

        _import_cpp_extension()
        import tools.harness.correctness  # noqa: F401
        import tools.harness.device_peaks  # noqa: F401
        import tools.harness.phases  # noqa: F401
        import tools.harness.profilers.torch_profiler  # noqa: F401
        import tools.harness.speed_of_light  # noqa: F401
        import tools.harness.timing  # noqa: F401
        import tools.platforms  # noqa: F401
        from tools.platforms import cuda_compare

        cuda_compare.compile_images()  # NVRTC, 0.2-0.6 s of CPU: here rather than in a lane
    finally:
        if before is None:
            os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
        else:
            os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = before


def _import_cpp_extension() -> None:
    """torch.utils.cpp_extension (and setuptools under it: 0.5-0.65 s of every build phase on an H200
    machine). At import it asks torch.cuda.is_available() only to choose whether to log a warning;
    answered for real, that could start the driver here (NVML unavailable) before the request names the
    lane's device."""
    import torch

    real = torch.cuda.is_available
    torch.cuda.is_available = lambda: True
    try:
        import torch.utils.cpp_extension  # noqa: F401
    finally:
        torch.cuda.is_available = real


def adopt(req: WorkerRequest) -> None:
    """Take on the evaluation's folder, log, build folder and device (a spare was started without them;
    no CUDA/HIP call has been made yet, so the visible-devices variable still takes effect)."""
    if req.workdir:
        os.chdir(req.workdir)
    if req.log_path:
        sys.stdout.flush()
        sys.stderr.flush()
        fd = os.open(req.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    os.environ.update(req.env)


def run(req: WorkerRequest, ch: Channel) -> None:
    """The request's phases in order, each reported as start and end, or the first failure."""
    from tools.harness.phases import RUNNERS
    from tools.harness.session import PhaseFailure, Session, exc_line

    phase = "setup"
    try:
        session = Session(req)
        session.notify = lambda data: ch.send(event="note", phase=phase, data=data)
        for p in req.phases:
            phase = p.value
            ch.send(event="start", phase=phase, t=time.time())
            data = RUNNERS[p](session)
            session.check_timers(phase, data)
            ch.send(event="end", phase=phase, data=data, t=time.time())
        ch.send(event="done", t=time.time())
    except PhaseFailure as f:
        ch.send(event="fail", phase=phase, status=f.status.value, reason=f.reason, data=f.data, t=time.time())
    except BaseException as e:  # noqa: BLE001 - any escape from candidate code is a failed evaluation
        ch.send(
            event="fail",
            phase=phase,
            status=Status.crashed.value,
            reason=f"{phase} failed: {exc_line(e)}",
            data={"traceback": traceback.format_exc()[-3000:]},
            t=time.time(),
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        print(json.dumps(probe()))
        sys.stdout.flush()
        os._exit(0)
    if len(sys.argv) > 2 and sys.argv[1] == "--spare":
        preload()
        os.write(int(sys.argv[2]), READY)
    raw = sys.stdin.read()
    if not raw.strip():  # the agent closed this spare without work (it is shutting down, or died)
        os._exit(0)
    req = WorkerRequest.model_validate_json(raw)
    sys.stdin.close()
    adopt(req)
    _limit_resources()
    if any(p is not Phase.build for p in req.phases):
        from tools.platforms import get_platform

        get_platform(req.platform).start_context()
    run(req, Channel(req.channel_fd))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
