"""Batch behaviour of `agent solve` against the OpenAI-compatible stub (real HTTP, real cpu builds):
threads ask the LLM at the same time and while other threads' kernels are being evaluated, and a run
killed with SIGKILL continues with --resume without asking again what it already has."""

import json
import os
import signal
import subprocess
import time

import pytest

from tests import scripted_solver
from tests.conftest import AGENT, DATA, agent_env
from tests.openai_stub import OpenAIStub

SCRIPT = {"1_Small_ReLU": ["cpu/good/relu.py"], "4_Row_Sum": ["cpu/good/row_sum.py"]}


def slow_solver(body: dict) -> dict:
    """tests.scripted_solver's next move over the wire, after a pause that a model's thinking takes."""
    return {"delay_s": 0.5, **scripted_solver.wire_turn(body)}


def command(out, stub, samples):
    return AGENT + [
        "solve",
        "--dataset",
        str(DATA),
        "--level1",
        "--range",
        "1,4",
        "--samples",
        str(samples),
        "--concurrency",
        str(2 * samples),
        "--model",
        "openai:stub-model",
        "--base-url",
        stub.base_url,
        "--platform",
        "cpu",
        "--target",
        "0.05",
        "--out",
        str(out),
    ]


def environment(cache_dir):
    return agent_env(
        LLM_GATEWAY_KEY="sk-test", HIPGEN_CACHE_DIR=str(cache_dir), HIPGEN_CHECK_TRIALS="3", HIPGEN_TIME_BUDGET_S="0.2"
    )


@pytest.fixture
def solver_script(monkeypatch):
    monkeypatch.setenv("HIPGEN_SCRIPT", json.dumps(SCRIPT))  # read in this process, where the stub runs


def test_llm_calls_overlap_each_other_and_the_evaluations(tmp_path, cache_dir, solver_script):
    out = tmp_path / "results"
    with OpenAIStub(slow_solver) as stub:
        proc = subprocess.run(
            command(out, stub, samples=2), env=environment(cache_dir), capture_output=True, text=True, timeout=900
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((out / "summary.json").read_text())["totals"]["success"] == 2
    assert stub.max_in_flight >= 2, "threads asked the LLM one at a time"
    busy = [json.loads(line) for line in (out / "lanes.jsonl").read_text().splitlines()]
    during = [t for t in stub.request_wall_times if any(b["start"] < t < b["end"] for b in busy)]
    assert during, "no LLM request was made while a kernel was being evaluated"


def test_kill_9_then_resume_over_http(tmp_path, cache_dir, solver_script):
    out = tmp_path / "results"
    with OpenAIStub(slow_solver) as stub:
        proc = subprocess.Popen(
            command(out, stub, samples=1),
            env=environment(cache_dir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + 600
        while time.time() < deadline and not list(out.glob("*/result_*.json")):
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        asked_before = len(stub.requests)
        assert not (out / "summary.json").exists()
        resumed = subprocess.run(
            command(out, stub, samples=1) + ["--resume"],
            env=environment(cache_dir),
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["success"] == 2
    for problem in SCRIPT:
        recs = [json.loads(line) for line in (out / problem / "trace_0.jsonl").read_text().splitlines()]
        calls = [
            c["name"]
            for r in recs
            if r["type"] == "message" and r["message"]["type"] == "ai"
            for c in r["message"]["data"]["tool_calls"]
        ]
        assert calls.count("read_reference") == 1, problem  # continued, not restarted
        assert calls.count("write_kernel") == 1, problem
    # every candidate was saved once, and nothing half-written is left
    results = [json.loads(f.read_text()) for f in out.glob("*/result_*.json")]
    assert len(results) == len({(r["problem"], r["source_hash"]) for r in results}) == 2
    assert not list(out.rglob("*.tmp"))
    assert len(stub.requests) > asked_before
