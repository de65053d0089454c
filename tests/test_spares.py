"""Spare workers: started ahead of need with imports done, they take on an evaluation's folder, log,
build folder and channel when their request comes, see no secrets, and never outlive the agent."""
import gc
import os
import textwrap

from tests.conftest import DATA, KERNELS, problem
from tools.protocol import WorkerRequest
from tools.sandbox import run_worker, scrubbed_env
from tools.spares import SparePool, start_worker

TIMEOUTS = {"setup": 120.0, "build": 120.0, "check": 60.0}
CANDIDATE = textwrap.dedent('''
    import os
    import torch
    import torch.nn as nn

    class ModelNew(nn.Module):
        def forward(self, x):
            print("candidate-says", "cwd=" + os.getcwd(), "ext=" + str(os.environ.get("TORCH_EXTENSIONS_DIR")),
                  "secret=" + str(os.environ.get("OPENAI_API_KEY")), flush=True)
            return torch.relu(x)
''')


def _request(tmp_path) -> WorkerRequest:
    cand = tmp_path / "cand.py"
    cand.write_text(CANDIDATE)
    return WorkerRequest(problem_path=str(DATA / "KernelBench/level1/1_Small_ReLU.py"), candidate_path=str(cand),
                         platform="cpu", phases=["build", "check"], channel_fd=-1, check_seeds=[1, 2])


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
        print("setup s:", first.setup_seconds, second.setup_seconds,
              "check steps:", [o.records[-2]["data"]["steps"] for o in runs])
        assert "candidate-says" not in (tmp_path / "spares" / "spares.log").read_text()
    finally:
        pool.close()
    assert len(pool) == 0


def test_a_spare_without_work_exits_when_its_stdin_closes(tmp_path):
    (tmp_path / "home").mkdir()
    started = start_worker(["--spare"], scrubbed_env({}, tmp_path / "home"), tmp_path, tmp_path / "spare.log")
    started.proc.stdin.close()
    assert started.proc.wait(timeout=120) == 0
    os.close(started.read_fd)


def test_an_evaluators_spares_go_when_it_does(cache_dir):
    from tools.evaluator import EvalConfig, Evaluator

    cfg = EvalConfig(platform="cpu", cache_dir=cache_dir, check_trials=2, time_budget_s=0.1, max_timing_trials=10)
    ev = Evaluator(cfg)
    src = (KERNELS / "cpu/good/relu.py").read_text()
    r = ev.evaluate(problem("KernelBench/level1/1_Small_ReLU.py"), src + "\n# spares test\n", "check")
    assert r.correct, r.reason + r.log_tail
    assert (cache_dir / "home").is_dir()  # the workers' HOME and TMPDIR: compilers and profilers write there
    procs = [s.proc for s in ev.spares._spares.values()]
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
