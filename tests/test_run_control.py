"""How `agent solve` starts and stops (issue 15): one run per results folder (a real flock), Ctrl-C once
and twice (real signals to a real process), the model endpoint checked before any thread starts, the
platform line, and no quiet fallback to the cpu platform. The model is the OpenAI-compatible stub on
127.0.0.1, answering with tests.scripted_solver's moves."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests import scripted_solver
from tests.conftest import AGENT, DATA, ROOT, agent_env
from tests.openai_stub import OpenAIStub

SCRIPT = {"1_Small_ReLU": ["cpu/good/relu.py"]}


def paced(delay_s: float):
    """scripted_solver's next move, each after `delay_s` seconds of 'thinking'."""
    return lambda body: {"delay_s": delay_s, **scripted_solver.wire_turn(body)}


def command(out, base_url: str, *extra: str, model: str = "openai:stub-model") -> list[str]:
    return AGENT + [
        "solve",
        "--dataset",
        str(DATA),
        "--level1",
        "--range",
        "1",
        "--samples",
        "1",
        "--model",
        model,
        "--base-url",
        base_url,
        "--platform",
        "cpu",
        "--target",
        "0.05",
        "--no-progress",
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture
def env(cache_dir, monkeypatch):
    monkeypatch.setenv("HIPGEN_SCRIPT", json.dumps(SCRIPT))  # read in this process, where the stub runs
    return agent_env(
        LLM_GATEWAY_KEY="sk-test", HIPGEN_CACHE_DIR=str(cache_dir), HIPGEN_CHECK_TRIALS="3", HIPGEN_TIME_BUDGET_S="0.2"
    )


def start(cmd, env, tmp_path, name="run"):
    """A solve in the background; its stderr goes to a file the test reads while it runs."""
    err = open(tmp_path / f"{name}.err", "w")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True)


def wait_for(pred, timeout: float, what: str, proc=None, err=None) -> None:
    """Until pred(); a run that ends or stalls first fails the test with its stderr (and is killed)."""
    end = time.monotonic() + timeout
    while not pred():
        gone = proc is not None and proc.poll() is not None
        if gone or time.monotonic() > end:
            if proc is not None and not gone:
                proc.kill()
            tail = err.read_text()[-3000:] if err is not None and err.exists() else ""
            raise AssertionError(f"{'the run ended' if gone else 'timed out'} waiting for {what}:\n{tail}")
        time.sleep(0.05)


def run(cmd, env, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def records(out, problem="1_Small_ReLU", sample=0) -> list[dict]:
    return [json.loads(ln) for ln in (out / problem / f"trace_{sample}.jsonl").read_text().splitlines()]


def test_a_second_solve_on_the_same_out_is_refused_and_a_dead_runs_lock_is_taken_over(tmp_path, env):
    out = tmp_path / "results"
    with OpenAIStub(paced(1.0)) as stub:
        first = start(command(out, stub.base_url), env, tmp_path, "first")
        try:
            wait_for(lambda: stub.requests, 240, "the first run's first model call", first, tmp_path / "first.err")
            for extra in ((), ("--resume",)):
                second = run(command(out, stub.base_url, *extra), env, timeout=120)
                assert second.returncode == 2, second.stderr
                assert (
                    f"is in use by another agent solve (pid {first.pid} on host {socket.gethostname()}" in second.stderr
                )
                assert len(second.stderr.strip().splitlines()) == 1 and "Traceback" not in second.stderr
        finally:
            first.kill()  # SIGKILL: its flock goes with it
            first.wait(30)
        third = run(command(out, stub.base_url, "--resume"), env)
    assert third.returncode == 0, third.stderr[-3000:]
    assert third.stderr.startswith("platform cpu: ") and ", 1 lane; model: " in third.stderr.splitlines()[0]
    assert json.loads((out / "summary.json").read_text())["totals"]["success"] == 1
    lock = json.loads((out / "run.lock").read_text())
    assert lock["pid"] != first.pid and lock["host"] == socket.gethostname()


def test_one_ctrl_c_lets_threads_finish_their_step_and_resume_continues(tmp_path, env):
    out = tmp_path / "results"
    with OpenAIStub(paced(1.5)) as stub:
        proc = start(command(out, stub.base_url), env, tmp_path)
        # Ctrl-C while the model 'thinks' over its first reply: that reply is the step the thread finishes.
        wait_for(lambda: stub.requests, 240, "the thread's first model call", proc, tmp_path / "run.err")
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        err = (tmp_path / "run.err").read_text()
        assert proc.returncode == 130, err[-3000:]
        assert "stopping: 1 thread finishes its current step; Ctrl-C again to stop now" in err
        assert "interrupted: the reports in" in err and "Traceback" not in err
        assert json.loads((out / "status.json").read_text())["state"] == "interrupted"
        summary = json.loads((out / "summary.json").read_text())
        assert summary["unfinished_threads"] == [{"problem": "1_Small_ReLU", "sample": 0, "reason": "run_interrupted"}]
        assert "sample 0 did not run to its end: run_interrupted" in (out / "detailed_report.txt").read_text()
        last = records(out)[-1]
        assert last["type"] == "end" and last["reason"] == "run_interrupted"
        assert len(stub.requests) == 1  # it stopped after the step it was in, not at the end of the thread

        resumed = run(command(out, stub.base_url, "--resume"), env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((out / "summary.json").read_text())["totals"]["success"] == 1
    calls = [
        c["name"]
        for r in records(out)
        if r["type"] == "message" and r["message"]["type"] == "ai"
        for c in r["message"]["data"]["tool_calls"]
    ]
    assert calls.count("read_reference") == 1  # it went on from its checkpoint


def test_a_second_ctrl_c_stops_within_seconds_with_the_reports_written(tmp_path, env):
    out = tmp_path / "results"
    with OpenAIStub(paced(60)) as stub:  # the model is 'thinking' for a minute
        proc = start(command(out, stub.base_url), env, tmp_path)
        wait_for(lambda: stub.requests, 240, "the first model call", proc, tmp_path / "run.err")
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: "stopping:" in (tmp_path / "run.err").read_text(), 10, "the stopping line")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        took = time.monotonic() - t0
    err = (tmp_path / "run.err").read_text()
    assert proc.returncode == 130, err[-3000:]
    assert took < 5, f"the second Ctrl-C took {took:.1f} s"
    assert "Traceback" not in err
    for name in ("summary.json", "detailed_report.txt", "detailed_report.json", "report.html"):
        assert (out / name).exists(), name
    assert json.loads((out / "status.json").read_text())["state"] == "interrupted"
    reasons = json.loads((out / "summary.json").read_text())["unfinished_threads"]
    assert [r["sample"] for r in reasons] == [0] and "did not finish" in reasons[0]["reason"]

    with OpenAIStub(paced(0)) as stub:
        resumed = run(command(out, stub.base_url, "--resume"), env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((out / "summary.json").read_text())["totals"]["success"] == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("case", ["nothing listening", "key refused", "unknown model"])
def test_the_endpoint_is_checked_before_any_thread_starts(tmp_path, env, case):
    out = tmp_path / "results"
    stub = OpenAIStub(paced(0), key="sk-test" if case != "key refused" else "sk-other", models=("stub-model",))
    with stub:
        url = f"http://127.0.0.1:{free_port()}/v1" if case == "nothing listening" else stub.base_url
        model = "openai:no-such-model" if case == "unknown model" else "openai:stub-model"
        t0 = time.monotonic()
        proc = run(command(out, url, model=model), env, timeout=120)
        took = time.monotonic() - t0
    code, needle = {
        "nothing listening": (1, f"error: Nothing answered at {url} (Connection error."),
        "key refused": (2, f"error: {stub.base_url} refused the API key (HTTP 401"),
        "unknown model": (2, f"error: {stub.base_url} does not serve model 'no-such-model' (it lists stub-model)"),
    }[case]
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith(needle), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert took < 30 and not stub.requests  # no chat request: the model list answered the question
    assert not out.exists()  # nothing was started, so nothing is left behind


def test_no_visible_gpu_and_no_platform_is_refused_not_run_on_the_cpu(tmp_path, env):
    cmd = AGENT + ["solve", "--dataset", str(DATA), "--level1", "--range", "1", "--out", str(tmp_path / "r")]
    hidden = dict(env, CUDA_VISIBLE_DEVICES="", HIP_VISIBLE_DEVICES="")
    proc = run(cmd, hidden, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "pass --platform cpu to run on the CPU" in proc.stderr
    assert "sees no GPU" in proc.stderr or "built without CUDA or ROCm" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_the_lock_file_names_no_one_once_the_run_is_over(tmp_path, env):
    from agent.run_lock import RunLock, holder

    out = tmp_path / "results"
    with RunLock(out):
        assert holder(out).startswith(f"pid {os.getpid()} on host ")
    assert holder(out) is None
    with RunLock(out), pytest.raises(Exception, match="is in use by another agent solve"):
        RunLock(out).acquire()  # a second lock in the same process is a second open file: refused too


def test_a_third_ctrl_c_while_the_reports_are_written_leaves_at_once_without_a_traceback(tmp_path):
    script = tmp_path / "three.py"
    script.write_text(
        "import os, signal, time\n"
        "from agent.interrupts import HardStop, StopFlag, stop_on_signals\n"
        "with stop_on_signals(StopFlag(), lambda: print('first', flush=True)):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(5)\n"
        "    except HardStop:\n"
        "        print('hard', flush=True)\n"
        "        os.kill(os.getpid(), signal.SIGINT)  # as if during the report writing\n"
        "        time.sleep(5)\n"
        "    print('not reached', flush=True)\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 130, proc.stderr
    assert proc.stdout.split() == ["first", "hard"]
    assert "Traceback" not in proc.stderr and "--resume continues the run" in proc.stderr
