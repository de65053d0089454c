"""Where a run stands: the Progress a run feeds, status.json, the live view and `agent status`."""

import io
import json
import subprocess

from rich.console import Console

from agent.ledger import Ledger, prices_for
from agent.progress import Progress, live_display, read_status, render
from tests.conftest import AGENT, agent_env
from tools.harness.results import BuildInfo, CheckInfo, EvalResult, Status, Timing, TimingInfo


def timed(speedup: float) -> EvalResult:
    """A correct candidate, timed at `speedup`."""
    t = lambda ms: Timing(median_ms=ms, min_ms=ms, max_ms=ms, q25_ms=ms, q75_ms=ms, trials=10)
    return EvalResult(
        status=Status.ok,
        build=BuildInfo(ok=True),
        check=CheckInfo(passed=True),
        timing=TimingInfo(reference=t(speedup), candidate=t(1.0), speedup=speedup),
    )


def progress_of(out):
    (out / "run_config.json").write_text("{}")
    ledger = Ledger(prices_for("openai:gpt-4.1"))
    p = Progress(out, [("19_ReLU", 0), ("19_ReLU", 1), ("23_Softmax", 0)], ledger, {"0": 12.5})
    p.thread("19_ReLU", 0, "running")
    p.result("19_ReLU", 0, 0, EvalResult(status=Status.incorrect, reason="wrong"))
    p.result("19_ReLU", 0, 1, timed(1.25))
    p.result("19_ReLU", 0, 1, timed(1.25))  # same n again
    ledger.add("19_ReLU", {"input_tokens": 1_000_000, "output_tokens": 100_000, "total_tokens": 1_100_000})
    p.thread("19_ReLU", 0, "done", "target_reached")
    p.thread("19_ReLU", 1, "running")
    return p


def test_snapshot_counts_and_status_file(tmp_path):
    p = progress_of(tmp_path)
    snap = json.loads((tmp_path / "status.json").read_text())
    assert snap["thread_counts"] == {"queued": 1, "running": 1, "done": 1, "failed": 0, "skipped": 0}
    assert snap["threads"]["19_ReLU/0"] == {"state": "done", "ended": "target_reached", "attempts": 2, "best": 1.25}
    assert snap["threads"]["19_ReLU/1"]["best"] is None
    assert snap["eval_statuses"] == {"incorrect": 1, "correct": 1}
    assert snap["best"] == {"19_ReLU": 1.25, "23_Softmax": None}
    assert snap["cost_usd"] == 2.8 and snap["lane_busy_s"] == {"0": 12.5}
    assert snap["eta_s"] is not None and read_status(tmp_path)["state"] == "running"  # this process is alive
    p.finish()
    assert read_status(tmp_path)["state"] == "finished"


def test_live_view_and_status_command_show_the_same_things(tmp_path):
    p = progress_of(tmp_path)
    console = Console(file=io.StringIO(), force_terminal=True, width=140)
    with live_display(console)(p):
        pass
    shown = console.file.getvalue()
    for needle in (
        "running",
        "problems 0/2 finished",
        "1 done, 1 running, 1 queued",
        "best speedup so far 1.25x",
        "cost $2.80",
        "0: 12 s",
        "19_ReLU",
        "target_reached",
    ):
        assert needle in shown, needle
    text = Console(file=io.StringIO(), width=140)
    text.print(render(p.snapshot()))
    proc = subprocess.run(
        AGENT + ["status", str(tmp_path)], env=agent_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    # the status command runs in another process: the run's pid there is this test process, alive
    assert proc.stdout.startswith("running") and "1 done, 1 running, 1 queued" in proc.stdout


def test_status_of_a_run_whose_process_is_gone(tmp_path):
    p = progress_of(tmp_path)
    data = json.loads((tmp_path / "status.json").read_text())
    data["pid"] = 2**22 + 12345  # no such process
    (tmp_path / "status.json").write_text(json.dumps(data))
    assert read_status(tmp_path)["state"] == "stopped" and read_status(tmp_path)["eta_s"] is None
    assert p.snapshot()["state"] == "running"


def test_a_finished_threads_line_gives_its_own_best_and_the_problems(tmp_path):
    """A thread's line must not pass another sample's speedup off as its own."""
    from agent.progress import line_display

    p = progress_of(tmp_path)
    p.result("19_ReLU", 1, 2, timed(1.1))
    p.result("23_Softmax", 0, 3, EvalResult(status=Status.incorrect, reason="wrong"))
    console = Console(file=io.StringIO(), width=200)
    with line_display(console)(p):
        p.thread("19_ReLU", 1, "done", "model_done")
        p.thread("23_Softmax", 0, "done", "model_done")
    first, second = console.file.getvalue().splitlines()
    assert "19_ReLU/1: done (model_done), 1 attempt(s), best 1.100x (problem 1.250x);" in first, first
    assert "23_Softmax/0: done (model_done), 1 attempt(s), best -;" in second, second


def test_lanes_are_shown_per_node():
    from agent.progress import lanes_text

    assert lanes_text({}) == "-"
    assert lanes_text({"0": 12.5, "1": 3.0}) == "0: 12 s, 1: 3 s"  # one machine: its lanes as before
    ray = {"ab12cd34/0": 10.0, "ab12cd34/1": 2.0, "ef56ab78/0": 0.0}  # a Ray run: node/lane
    assert lanes_text(ray) == "node ab12cd34 (2 lanes) 0: 10 s, 1: 2 s; node ef56ab78 (1 lane) 0: 0 s"
