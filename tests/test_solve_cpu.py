"""`agent solve` end to end on the cpu platform, driven by the scripted model through the real
module:factory backend path: real builds, real checks, real timing, checkpoints and the results layout."""

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from tests.conftest import AGENT, DATA, agent_env

SCRIPT = {"1_Small_ReLU": ["cpu/bad/relu_wrong.py", "cpu/good/relu.py"], "4_Row_Sum": ["cpu/good/row_sum.py"]}


def solve(out, cache_dir, *extra, script=SCRIPT, timeout=900):
    cmd = AGENT + [
        "solve",
        "--dataset",
        str(DATA),
        "--level1",
        "--range",
        "1,4",
        "--samples",
        "2",
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
    env = agent_env(HIPGEN_SCRIPT=json.dumps(script), HIPGEN_CACHE_DIR=str(cache_dir), OPENAI_API_KEY="sk-secret")
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def run(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("solve") / "results"
    proc = solve(out, cache_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_summary_and_reports(run):
    out, proc = run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"] == {"success": 2, "partial": 0, "failed": 0, "fragile": 0}
    assert summary["fast_p"]["fast_0"] == 1.0
    assert summary["problems"]["1_Small_ReLU"]["status"] == "success"
    assert summary["tokens"]["total_tokens"] > 0
    cfg = summary["config"]["settings"]
    assert cfg["samples"] == 2 and cfg["platform"] == "cpu" and cfg["api_key"] is None
    assert "sk-secret" not in (out / "run_config.json").read_text()
    assert (out / "detailed_report.txt").read_text().startswith("HipGenerator report: 2 problem(s)")
    assert "2 problem(s): success 2" in proc.stdout
    log = [json.loads(line) for line in (out / "batch_run.log").read_text().splitlines()]
    assert {"run_start", "thread_start", "thread_end", "run_end"} <= {r["event"] for r in log}


def test_every_candidate_saved_with_its_evaluation(run):
    out, _ = run
    relu = out / "1_Small_ReLU"
    results = sorted(relu.glob("result_*.json"))
    assert len(results) == 4  # 2 samples x (wrong, then good)
    for f in results:
        data = json.loads(f.read_text())
        assert (relu / data["code_file"]).read_text().startswith('"""')
        assert data["status"] in ("incorrect", "ok")
        assert data["sample"] in (0, 1)
    wrong = [json.loads(f.read_text()) for f in results if json.loads(f.read_text())["status"] == "incorrect"]
    assert len(wrong) == 2 and "elements outside" in wrong[0]["reason"]
    best = json.loads((relu / "best_result.json").read_text())
    assert best["correct"] and best["speedup"] > 0
    assert (relu / "best_code.py").read_text() == (relu / best["code_file"]).read_text()


def test_trace_holds_the_whole_conversation(run):
    out, _ = run
    recs = records(out / "1_Small_ReLU" / "trace_0.jsonl")
    msgs = [r for r in recs if r["type"] == "message"]
    assert msgs[0]["message"]["type"] == "system" and "ModelNew" in msgs[0]["message"]["data"]["content"]
    assert msgs[1]["message"]["type"] == "human" and "1_Small_ReLU" in msgs[1]["message"]["data"]["content"]
    ai = [r for r in msgs if r["message"]["type"] == "ai"]
    assert all(r["reasoning"] and r["usage"]["total_tokens"] > 0 for r in ai)
    calls = [c for r in ai for c in r["message"]["data"]["tool_calls"]]
    assert [c["name"] for c in calls] == [
        "read_reference",
        "write_kernel",
        "compile_kernel",
        "check_correctness",
        "write_kernel",
        "compile_kernel",
        "check_correctness",
        "profile_kernel",
    ]
    assert "torch::Tensor relu_forward" in calls[1]["args"]["source"]
    tool = [r["message"]["data"] for r in msgs if r["message"]["type"] == "tool"]
    assert tool[0]["content"].startswith("problem 1_Small_ReLU")
    assert any(t["content"].startswith("INCORRECT") for t in tool)
    assert tool[-1]["content"].startswith("SPEEDUP")
    assert tool[-1]["artifact"]["timing"]["candidate"]["median_ms"] > 0
    end = recs[-1]
    assert end["type"] == "end" and end["reason"] == "target_reached" and end["attempts"] == 2


def test_status_file_lanes_and_progress_lines(run):
    out, proc = run
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "finished"
    assert status["thread_counts"] == {"queued": 0, "running": 0, "done": 4, "failed": 0, "skipped": 0}
    assert status["best"]["1_Small_ReLU"] > 0 and status["eval_statuses"]["correct"] >= 4
    assert status["threads"]["1_Small_ReLU/0"]["attempts"] == 2
    # off a terminal the progress is one line per finished thread, on stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("[")]
    assert len(lines) == 4 and lines[-1].startswith("[4/4]") and "target_reached" in lines[-1]
    lanes = [json.loads(ln) for ln in (out / "lanes.jsonl").read_text().splitlines()]
    assert lanes and all(r["lane"] == "default" and r["end"] >= r["start"] for r in lanes)
    assert {r["node"] for r in lanes} == {socket.gethostname()}  # without Ray, the node is this machine
    assert {r["problem"] for r in lanes} >= {"1_Small_ReLU", "4_Row_Sum"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lanes"]["default"]["runs"] == len(lanes)
    assert summary["cost_usd"] is None  # the scripted model has no price
    proc = subprocess.run(AGENT + ["status", str(out)], env=agent_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "finished" in proc.stdout and "problems 2/2 finished" in proc.stdout and "1_Small_ReLU" in proc.stdout


def test_trace_and_report_commands(run):
    out, _ = run
    proc = subprocess.run(
        AGENT + ["trace", str(out / "1_Small_ReLU"), "--sample", "0"],
        env=agent_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for needle in ("read_reference", "check_correctness", "INCORRECT", "SPEEDUP", "target_reached", "relu_forward"):
        assert needle in proc.stdout
    before = json.loads((out / "summary.json").read_text())
    (out / "summary.json").unlink()
    proc = subprocess.run(AGENT + ["report", str(out)], env=agent_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "summary.json").read_text())["totals"] == before["totals"]


def test_existing_run_is_not_overwritten_and_resume_of_finished_run_is_a_no_op(run, cache_dir):
    out, _ = run
    proc = solve(out, cache_dir)
    assert proc.returncode == 2 and "already holds a run" in proc.stderr and "Traceback" not in proc.stderr
    n_before = len(list(out.glob("*/result_*.json")))
    proc = solve(out, cache_dir, "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(list(out.glob("*/result_*.json"))) == n_before


def test_kill_9_then_resume_finishes_the_run(tmp_path, cache_dir):
    out = tmp_path / "results"
    script = {"1_Small_ReLU": ["cpu/bad/relu_wrong.py", "cpu/good/relu.py"], "4_Row_Sum": ["cpu/good/row_sum.py"]}
    cmd = AGENT + [
        "solve",
        "--dataset",
        str(DATA),
        "--level1",
        "--range",
        "1,4",
        "--samples",
        "2",
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
    ]
    env = agent_env(HIPGEN_SCRIPT=json.dumps(script), HIPGEN_CACHE_DIR=str(cache_dir))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and not list(out.glob("1_Small_ReLU/result_*.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists()
    for f in out.rglob("*.json"):  # every file in place is whole: a kill mid-write leaves only a hidden .tmp
        if not f.name.startswith("."):
            json.loads(f.read_text())
    for f in out.rglob("*.jsonl"):
        if not f.name.startswith("."):
            [json.loads(line) for line in f.read_text().splitlines()]
    status = subprocess.run(AGENT + ["status", str(out)], env=agent_env(), capture_output=True, text=True, timeout=120)
    assert status.returncode == 0 and status.stdout.startswith("stopped"), status.stdout + status.stderr
    proc = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["success"] == 2
    # The seeded search went on across the kill: the second samples, started after the resume, begin
    # from their problem's best so far.
    for name in ("1_Small_ReLU", "4_Row_Sum"):
        seeded = [r for r in records(out / name / "trace_1.jsonl") if r["type"] == "seeded"]
        assert len(seeded) == 1 and seeded[0]["from"][0]["sample"] == 0, name
    recs = records(out / "1_Small_ReLU" / "trace_0.jsonl")
    assert any(r["type"] == "resume" for r in recs)
    calls = [
        c["name"]
        for r in recs
        if r["type"] == "message" and r["message"]["type"] == "ai"
        for c in r["message"]["data"]["tool_calls"]
    ]
    assert calls.count("read_reference") == 1  # continued from the checkpoint, not restarted
    assert recs[-1]["type"] == "end"
    assert not list(out.rglob(".*.tmp"))  # the resumed run cleared what the killed one left mid-write


def test_a_later_sample_starts_from_the_earlier_best_and_trace_shows_it(tmp_path, cache_dir):
    out = tmp_path / "results"
    script = {"1_Small_ReLU": ["cpu/bad/relu_wrong.py", "cpu/good/relu.py"]}
    cmd = ["--range", "1", "--concurrency", "1"]
    proc = solve(out, cache_dir, *cmd, script=script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = records(out / "1_Small_ReLU" / "trace_0.jsonl")
    assert not any(r["type"] == "seeded" for r in first)  # nothing correct existed when it started
    second = records(out / "1_Small_ReLU" / "trace_1.jsonl")
    (seeded,) = [r for r in second if r["type"] == "seeded"]
    best = json.loads((out / "1_Small_ReLU" / "best_result.json").read_text())
    assert [k["n"] for k in seeded["from"]] == [best["n"]] and seeded["from"][0]["sample"] == 0
    task = next(r for r in second if r["type"] == "message" and r["message"]["type"] == "human")
    text = task["message"]["data"]["content"]
    assert "Other samples of this problem have already found correct kernels" in text
    assert (out / "1_Small_ReLU" / best["code_file"]).read_text().strip() in text
    shown = subprocess.run(
        AGENT + ["trace", str(out / "1_Small_ReLU"), "--sample", "1"],
        env=agent_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "[seeded]" in shown.stdout and f"candidate {best['n']} of sample 0:" in shown.stdout
    independent = tmp_path / "independent"
    proc = solve(independent, cache_dir, *cmd, "--search", "independent", script=script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not any(r["type"] == "seeded" for r in records(independent / "1_Small_ReLU" / "trace_1.jsonl"))
