"""Run-wide limits on tokens and cost, prices, and the batch flags' user errors: real `agent solve`
runs on the cpu platform with the scripted model."""

import json
import subprocess

import pytest

from agent.ledger import Ledger, prices_for
from tests.conftest import AGENT, DATA, agent_env

SCRIPT = {"1_Small_ReLU": ["cpu/good/relu.py"], "4_Row_Sum": ["cpu/good/row_sum.py"]}


def solve(out, cache_dir, *extra, timeout=900):
    cmd = AGENT + [
        "solve",
        "--dataset",
        str(DATA),
        "--level1",
        "--range",
        "1,4",
        "--samples",
        "1",
        "--concurrency",
        "1",
        "--model",
        "tests.scripted_solver:factory",
        "--platform",
        "cpu",
        "--target",
        "0.05",
        "--out",
        str(out),
        *extra,
    ]
    env = agent_env(HIPGEN_SCRIPT=json.dumps(SCRIPT), HIPGEN_CACHE_DIR=str(cache_dir))
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def test_prices_match_the_longest_model_prefix():
    assert prices_for("openai:gpt-4.1-mini").input == 0.4
    assert prices_for("openai:gpt-4.1").output == 8.0
    assert prices_for("anthropic:claude-sonnet-4-20250514").source == "prices.json:claude-sonnet-4"
    assert prices_for("openai:my-local-qwen") is None
    given = prices_for("openai:my-local-qwen", price_input=0.5, price_output=1.5)
    assert given.cost(2_000_000, 1_000_000) == pytest.approx(2.5)


def test_ledger_limits():
    ledger = Ledger(prices_for("openai:gpt-4.1"), max_tokens=None, max_cost=0.01)
    ledger.add("a", {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100})
    assert ledger.exhausted() is None  # $0.0028
    ledger.add("b", {"input_tokens": 3000, "output_tokens": 300, "total_tokens": 3300})
    assert ledger.exhausted().startswith("run_cost_limit")
    assert Ledger(None, max_tokens=4000).exhausted() is None


def test_token_limit_stops_the_run_and_resume_with_more_continues(tmp_path, cache_dir):
    out = tmp_path / "results"
    # each scripted turn reports about 1100 tokens: the limit is reached on the first thread's second turn
    proc = solve(out, cache_dir, "--max-run-tokens", "2000")
    assert proc.returncode == 1, proc.stderr[-3000:]  # threads stopped by a run-wide limit did not run to their end
    assert "2 thread(s) could not run to their end (first: 1_Small_ReLU/0: run_token_limit" in proc.stderr
    status = json.loads((out / "status.json").read_text())
    assert status["thread_counts"]["skipped"] == 2
    assert all(t["ended"] == "run_token_limit" for t in status["threads"].values())
    summary = json.loads((out / "summary.json").read_text())
    assert 2000 <= summary["tokens"]["total_tokens"] < 3500
    assert not list(out.glob("*/result_*.json"))  # stopped before any kernel was built
    first = [json.loads(ln) for ln in (out / "1_Small_ReLU" / "trace_0.jsonl").read_text().splitlines()]
    assert first[-1]["type"] == "end" and "limit 2000" in first[-1]["detail"]
    never = [json.loads(ln) for ln in (out / "4_Row_Sum" / "trace_0.jsonl").read_text().splitlines()]
    assert [r["type"] for r in never] == ["end"]  # the queued thread never asked the LLM

    proc = solve(out, cache_dir, "--resume", "--max-run-tokens", "1000000")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["success"] == 2
    calls = [
        c["name"]
        for ln in (out / "1_Small_ReLU" / "trace_0.jsonl").read_text().splitlines()
        for r in [json.loads(ln)]
        if r["type"] == "message" and r["message"]["type"] == "ai"
        for c in r["message"]["data"]["tool_calls"]
    ]
    assert calls.count("read_reference") == 1  # the stopped thread went on from its checkpoint


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--max-cost", "5"], "--max-cost needs the price of 'tests.scripted_solver:factory'"),
        (["--gpus", "0,x"], "--gpus takes distinct device indices"),
        (["--gpus", "0"], "--gpus does not apply to the cpu platform"),
        (["--max-run-tokens", "0"], "bad value for --max-run-tokens"),
    ],
)
def test_batch_flag_mistakes_are_one_line(tmp_path, cache_dir, flags, needle):
    proc = solve(tmp_path / "results", cache_dir, *flags, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cost_is_reported_per_problem_when_the_price_is_given(tmp_path, cache_dir):
    out = tmp_path / "results"
    proc = solve(out, cache_dir, "--max-run-tokens", "1500", "--price-input", "1", "--price-output", "10")
    assert proc.returncode == 1, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    tokens = summary["problems"]["1_Small_ReLU"]["tokens"]
    expected = (tokens["input_tokens"] * 1 + tokens["output_tokens"] * 10) / 1e6
    assert summary["problems"]["1_Small_ReLU"]["cost_usd"] == pytest.approx(expected)
    assert summary["cost_usd"] == pytest.approx(expected)
    assert "cost $0.00" in proc.stdout
