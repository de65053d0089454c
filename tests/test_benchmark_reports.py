"""The batch-throughput benchmark's report, read from a real run folder (`agent solve` on the cpu
platform with the scripted model): it is what says that a GPU run lost or duplicated nothing, so it
must pass a whole run and catch a missing or repeated result."""

import json
import shutil
import subprocess

import pytest

from tests.benchmarks.batch_throughput import META_FILE, report
from tests.conftest import AGENT, DATA, agent_env

SCRIPT = {"1_Small_ReLU": ["cpu/good/relu.py"], "4_Row_Sum": ["cpu/good/row_sum.py"]}
PROBLEMS = ["1_Small_ReLU", "4_Row_Sum"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("bench") / "results"
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
        "--no-progress",
    ]
    env = agent_env(HIPGEN_SCRIPT=json.dumps(SCRIPT), HIPGEN_SCRIPT_VARY="1", HIPGEN_CACHE_DIR=str(cache_dir))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    intervals = [json.loads(line) for line in (out / "lanes.jsonl").read_text().splitlines()]
    start, end = min(r["start"] for r in intervals) - 1.0, max(r["end"] for r in intervals) + 1.0
    # the cpu platform's one lane is named "default"
    (out / META_FILE).write_text(
        json.dumps(
            {
                "gpus": ["default"],
                "problems": PROBLEMS,
                "samples": 2,
                "concurrency": 2,
                "spares": None,
                "start": start,
                "end": end,
            }
        )
    )
    return out


def _copy(run, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(run, dst)
    return dst


def test_a_whole_run_passes_with_its_waits_and_fixed_cost(run, capsys):
    assert report(run) == 0
    text = capsys.readouterr().out
    assert "checks: OK: 2 problems, 4 traces" in text
    assert "(concurrency 2, spares 1 by default; sandbox on)" in text  # the cpu platform keeps one spare
    assert "before the first interval 1.0 s" in text and "after the last 1.0 s" in text
    assert "waited for a worker's imports: mean" in text and "waited for a lane: mean" in text
    assert "overlaps" in text and "FAILED" not in text


def test_a_missing_result_fails_the_run(run, tmp_path, capsys):
    out = _copy(run, tmp_path)
    d = out / "4_Row_Sum"
    for f in d.glob("result_*.json"):
        if json.loads(f.read_text())["sample"] == 1:
            f.unlink()
    assert report(out) == 1
    text = capsys.readouterr().out
    assert "4_Row_Sum: no result for sample 1" in text


def test_a_result_saved_twice_fails_the_run(run, tmp_path, capsys):
    out = _copy(run, tmp_path)
    d = out / "1_Small_ReLU"
    first = sorted(d.glob("result_*.json"))[0]
    data = json.loads(first.read_text())
    n = max(int(f.stem.split("_")[1]) for f in d.glob("result_*.json")) + 1
    (d / f"result_{n}.json").write_text(json.dumps(data | {"n": n}))
    assert report(out) == 1
    text = capsys.readouterr().out
    assert "are the same source of sample" in text
