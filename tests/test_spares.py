"""Spare workers: started ahead of need with imports done, they take on an evaluation's folder, log,
build folder and channel when their request comes, see no secrets, and never outlive the agent."""

import gc
import json
import os
import textwrap
import time

from tests.conftest import DATA, KERNELS, problem
from tools.harness.protocol import WorkerRequest
from tools.harness.sandbox import run_worker, scrubbed_env
from tools.harness.spares import SparePool, spare_env, start_worker
from tools.platforms import get_platform

TIMEOUTS = {"setup": 120.0, "build": 120.0, "check": 60.0}
CANDIDATE = textwrap.dedent("""
    import os
    import torch
    import torch.nn as nn

    class ModelNew(nn.Module):
        def forward(self, x):
            print("candidate-says", "cwd=" + os.getcwd(), "ext=" + str(os.environ.get("TORCH_EXTENSIONS_DIR")),
                  "gpu=" + str(os.environ.get("CUDA_VISIBLE_DEVICES")),
                  "arch=" + str(os.environ.get("TORCH_CUDA_ARCH_LIST")),
                  "secret=" + str(os.environ.get("OPENAI_API_KEY")), flush=True)
            return torch.relu(x)
""")


def _request(tmp_path) -> WorkerRequest:
    cand = tmp_path / "cand.py"
    cand.write_text(CANDIDATE)
    return WorkerRequest(
        problem_path=str(DATA / "KernelBench/level1/1_Small_ReLU.py"),
        candidate_path=str(cand),
        platform="cpu",
        phases=["build", "check"],
        channel_fd=-1,
        check_seeds=[1, 2],
    )


def test_a_spare_takes_the_next_evaluation_as_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    pool = SparePool(tmp_path / "spares")
    req = _request(tmp_path)
    try:
        runs = []
        for n in range(2):
            env = scrubbed_env({}, tmp_path / "home")
            env["TORCH_EXTENSIONS_DIR"] = str(tmp_path / f"ext{n}")
            (tmp_path / f"ext{n}").mkdir()
            runs.append(run_worker(req, env=env, workdir=tmp_path / f"run{n}", timeouts=TIMEOUTS, spares=pool))
            assert len(pool) == 1  # a spare waits for the next evaluation
        first, second = runs
        assert not first.spare and second.spare
        for n, out in enumerate(runs):
            assert out.finished and out.records[-1]["event"] == "done", out.log_tail
            log = (tmp_path / f"run{n}" / "worker.log").read_text()
            assert f"cwd={tmp_path / f'run{n}'}" in log
            assert f"ext={tmp_path / f'ext{n}'}" in log
            assert "secret=None" in log and "sk-must-not-leak" not in log
        assert second.setup_seconds > 0
        print(
            "setup s:",
            first.setup_seconds,
            second.setup_seconds,
            "check steps:",
            [o.records[-2]["data"]["steps"] for o in runs],
        )
        assert "candidate-says" not in (tmp_path / "spares" / "spares.log").read_text()
    finally:
        pool.close()
    assert len(pool) == 0


def test_a_spare_without_work_exits_when_its_stdin_closes(tmp_path):
    (tmp_path / "home").mkdir()
    started = start_worker(scrubbed_env({}, tmp_path / "home"), tmp_path, tmp_path / "spare.log", spare=True)
    assert started.wait_ready(120)
    started.proc.stdin.close()
    assert started.proc.wait(timeout=120) == 0
    os.close(started.read_fd)


def test_an_evaluators_spares_go_when_it_does(cache_dir):
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator

    cfg = EvalConfig(platform="cpu", cache_dir=cache_dir, check_trials=2, time_budget_s=0.1, max_timing_trials=10)
    ev = Evaluator(cfg)
    src = (KERNELS / "cpu/good/relu.py").read_text()
    r = ev.evaluate(problem("KernelBench/level1/1_Small_ReLU.py"), src + "\n# spares test\n", "check")
    assert r.correct, r.reason + r.log_tail
    assert (cache_dir / "home").is_dir()  # the workers' HOME and TMPDIR: compilers and profilers write there
    procs = ev.spares.processes()
    assert procs and all(p.poll() is None for p in procs)
    del ev, r
    gc.collect()
    for p in procs:
        assert p.wait(timeout=30) is not None


def test_a_worker_takes_the_problems_flops_when_they_are_known(tmp_path):
    """FLOPs are counted once per problem (a dispatch mode's first use costs seconds on a GPU box)."""
    (tmp_path / "home").mkdir()
    env = scrubbed_env({}, tmp_path / "home")
    for given, expected in ((None, 0.0), (123.0, 123.0)):
        req = _request(tmp_path).model_copy(update={"flops": given})
        out = run_worker(req, env=env, workdir=tmp_path / f"run-{given}", timeouts=TIMEOUTS)
        check = next(r["data"] for r in out.records if r.get("event") == "end" and r.get("phase") == "check")
        assert check["flops"] == expected and check["passed"]


def test_a_ready_spare_takes_its_lanes_device_and_build_folder_from_the_request(tmp_path):
    """One pool serves every GPU lane: the device and the build folder are not in a spare's environment
    but set by the worker from its request, before anything touches a device."""
    (tmp_path / "home").mkdir()
    (tmp_path / "ext").mkdir()
    env = scrubbed_env({"TORCH_CUDA_ARCH_LIST": "9.0"}, tmp_path / "home") | {
        "CUDA_VISIBLE_DEVICES": "7",
        "TORCH_EXTENSIONS_DIR": str(tmp_path / "ext"),
    }
    pool = SparePool(tmp_path / "spares", early=True, depth=2)
    try:
        started = pool.take_ready(env, timeout=120)
        assert started is not None and started.ready and started.ready_wait > 0
        assert len(pool) == 2  # its replacements were started when it was taken
        assert "CUDA_VISIBLE_DEVICES" not in spare_env(env) and "TORCH_CUDA_ARCH_LIST" not in spare_env(env)
        out = run_worker(_request(tmp_path), env=env, workdir=tmp_path / "run", timeouts=TIMEOUTS, started=started)
        assert out.finished and out.spare and out.records[-1]["event"] == "done", out.log_tail
        assert all(r.get("event") != "ready" for r in out.records)
        assert out.setup_seconds >= started.ready_wait
        log = (tmp_path / "run" / "worker.log").read_text()
        assert "gpu=7" in log and f"ext={tmp_path / 'ext'}" in log and "arch=9.0" in log
    finally:
        pool.close()


def test_a_gpu_evaluator_takes_a_lane_only_once_its_worker_is_ready(cache_dir, tmp_path):
    """On a GPU the lane (the device) must not be held while a fresh worker imports torch. The cpu
    platform keeps its spares inside the lane (its CPU is what is timed), so the GPU behaviour is
    switched on here by hand to run it on a CPU machine."""
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator

    lanes = tmp_path / "lanes.jsonl"
    ev = Evaluator(
        EvalConfig(platform="cpu", cache_dir=cache_dir, check_trials=2, time_budget_s=0.1, max_timing_trials=10),
        lane_log=lanes,
    )
    ev.spares.early = True
    try:
        t_call = time.time()
        base = ev.baseline(problem("KernelBench/level1/1_Small_ReLU.py"))
        assert base["reference"]["median_ms"] > 0
        first = json.loads(lanes.read_text().splitlines()[0])
        # the pool was empty: a fresh worker imports torch (a second or more) before the lane is taken,
        # and the lane log says which of the two waits it was
        assert first["start"] - t_call > 0.5, (first, t_call)
        assert first["worker_wait"] > 0.5 and first["lane_wait"] < 0.5, first
        # and where its time went: start-up, each phase's wall seconds, ending, within the interval
        assert set(first["phase_s"]) == {"baseline"}, first
        held = first["end"] - first["start"]
        assert 0 < first["startup_s"] + first["phase_s"]["baseline"] + first["ending_s"] <= held + 0.01, first
    finally:
        ev.close()


def test_a_profiler_wrapped_worker_imports_before_it_takes_a_lane(cache_dir, tmp_path):
    """A counters pass wraps a fresh worker in the profiler (ncu): where spares start early, that worker
    too imports before the lane is taken, and still runs inside its wrapper."""
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator

    lanes = tmp_path / "lanes.jsonl"
    ev = Evaluator(
        EvalConfig(platform="cpu", cache_dir=cache_dir, time_budget_s=0.1, max_timing_trials=10), lane_log=lanes
    )
    ev.spares.early = True
    workdir = tmp_path / "wrapped"
    req = WorkerRequest(
        problem_path=str(DATA / "KernelBench/level1/1_Small_ReLU.py"), platform="cpu", phases=["baseline"]
    )
    wrapper = ["sh", "-c", 'echo "$$" > wrapped.txt && exec "$@"', "wrapper"]
    try:
        t_call = time.time()
        out = ev.launcher.run_prefixed_on_lane(req, None, "wrapped", "1_Small_ReLU", wrapper, workdir)
    finally:
        ev.close()
    assert any(r.get("event") == "end" and r.get("phase") == "baseline" for r in out.records), out.log_tail
    assert (workdir / "wrapped.txt").read_text().strip().isdigit()
    rec = json.loads(lanes.read_text().splitlines()[0])
    assert rec["start"] - t_call > 0.5 and rec["worker_wait"] > 0.5, rec
    assert rec["startup_s"] < 0.5, rec


def test_spares_started_with_the_evaluator_are_the_ones_its_first_evaluation_takes(cache_dir):
    """A run starts its spares before the device probe, so their imports are done by the first
    evaluation; that only helps if the evaluation's environment matches theirs."""
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator

    ev = Evaluator(
        EvalConfig(
            platform="cpu", cache_dir=cache_dir, check_trials=2, time_budget_s=0.1, max_timing_trials=10, spares=1
        )
    )
    ev.spares.early = True
    try:
        ev.start_spares()
        early = ev.spares.processes()
        assert len(early) == 1 and early[0].poll() is None
        assert ev.baseline(problem("KernelBench/level1/1_Small_ReLU.py"))["reference"]["median_ms"] > 0
        # it was taken and is gone (killed with its group after its run); a spare started for another
        # environment would still be waiting beside the one the evaluation started for itself
        assert early[0].wait(timeout=30) is not None
        now = ev.spares.processes()
        assert len(now) == 1 and now[0] is not early[0] and now[0].poll() is None
    finally:
        ev.close()


def test_the_build_target_is_set_per_request(tmp_path):
    """What lets spares start before the probe has told the arch: everything a platform's build_env sets
    is left out of a spare's environment and set by the worker from its request."""
    from tests.test_rocm_platform import fake_hipkittens
    from tools.harness.spares import PER_REQUEST_ENV
    from tools.platforms.rocm import hipkittens_env

    fake_hipkittens(tmp_path, "cdna3")
    for build in (
        get_platform("cuda").build_env("sm_90"),
        get_platform("rocm").build_env("gfx942"),
        hipkittens_env(tmp_path, "gfx942", env={}),
    ):
        assert build and set(build) <= set(PER_REQUEST_ENV), build


def test_spares_kept_waiting_are_one_per_lane_and_one_more_unless_asked(cache_dir):
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator

    assert Evaluator(EvalConfig(platform="cpu", cache_dir=cache_dir)).spare_depth() == 2
    assert Evaluator(EvalConfig(platform="cpu", cache_dir=cache_dir, spares=5)).spare_depth() == 5


def test_a_worker_given_one_device_must_see_exactly_one(monkeypatch):
    """What catches a spare whose driver was initialised before its request named the device (here a
    CPU build of torch sees no CUDA device at all)."""
    import pytest

    cuda = get_platform("cuda")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    cuda.check_one_device()  # no single device asked for: nothing to check
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    import torch

    if torch.cuda.device_count() == 1:
        pytest.skip("a one-GPU machine shows exactly one device either way")
    with pytest.raises(RuntimeError, match="CUDA_VISIBLE_DEVICES=1 but this worker sees"):
        cuda.check_one_device()


def test_a_spares_imports_leave_the_gpu_driver_alone(tmp_path):
    """The lane's device is named after the imports; had they started the driver, it would show every
    GPU (a worker that then sees more than one device fails, loudly)."""
    import subprocess
    import sys

    probe = textwrap.dedent("""
        import torch
        asked = []
        for name in ("is_available", "device_count", "_lazy_init"):
            real = getattr(torch.cuda, name)
            setattr(torch.cuda, name, lambda *a, _n=name, _r=real, **k: (asked.append(_n), _r(*a, **k))[1])
        from tools.harness.worker import preload
        preload()
        print("ASKED", asked, torch.cuda.is_initialized())
    """)
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, env=scrubbed_env({}, tmp_path)
    )
    assert "ASKED [] False" in out.stdout, out.stdout + out.stderr


def test_a_workers_flop_count_and_profile_leave_dynamo_unimported(tmp_path):
    """torch.profiler.profile and a dispatch mode's first call import dynamo (and inductor): 4-6 s of
    CPU per worker on the H200 machines. The worker's FLOP count and profile give the same answers
    without them."""
    import subprocess
    import sys

    probe = textwrap.dedent("""
        import sys
        import torch
        from tools.harness.worker import preload
        preload()
        from tools.harness.speed_of_light import count_flops
        from tools.harness.profilers.torch_profiler import run_profiled
        from tools.platforms import get_platform
        x, w = torch.randn(64, 32), torch.randn(16, 32)
        flops, _ = count_flops(lambda: torch.nn.functional.linear(x, w))
        records = run_profiled(get_platform("cpu"), lambda: torch.mm(x, w.t()), repeats=2)
        mm = [r for r in records if r.name == "aten::mm"]
        print("FLOPS", flops, "MM", mm[0].calls if mm else None)
        print("LOADED", sorted(m for m in ("torch._dynamo", "torch._inductor") if m in sys.modules))
    """)
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, env=scrubbed_env({}, tmp_path)
    )
    assert "FLOPS 65536.0 MM 2" in out.stdout, out.stdout + out.stderr
    assert "LOADED []" in out.stdout, out.stdout + out.stderr
