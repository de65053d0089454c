"""`agent export DIR --kernelbench OUT` on a real run (a scripted solve on the cpu platform), read back
the way KernelBench's scripts read a run: scripts/eval_from_generations.py finds a sample's kernel by
its file name and skips problems already in eval_results.json; scripts/benchmark_eval_analysis.py
takes each problem's sample-0 entry, looks its baseline up by level and problem file name, and scores
speedup = baseline "mean" / entry "runtime" (both ms) for correct entries."""

import json
import subprocess

import pytest

from agent.export_kernelbench import entry_for, hardware_name, pick
from agent.store import read_results
from tests.conftest import AGENT, DATA, agent_env
from tools.harness.results import best_of

SCRIPT = {"1_Small_ReLU": ["cpu/bad/relu_wrong.py", "cpu/good/relu.py"], "4_Row_Sum": ["cpu/bad/relu_build_error.py"]}
FAST_P = (0.0, 0.5, 0.8, 1.0, 1.5, 2.0)


def agent(*args, timeout=120, **env):
    return subprocess.run(AGENT + list(args), env=agent_env(**env), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def run(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("solve") / "results"
    proc = agent(
        "solve", "--dataset", str(DATA), "--level1", "--range", "1,4", "--samples", "2",
        "--model", "tests.scripted_solver:factory", "--platform", "cpu", "--target", "0.05",
        "--out", str(out), "--no-progress",
        timeout=900, HIPGEN_SCRIPT=json.dumps(SCRIPT), HIPGEN_CACHE_DIR=str(cache_dir),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    kb = tmp_path_factory.mktemp("export") / "kb"
    proc = agent("export", str(run), "--kernelbench", str(kb))
    assert proc.returncode == 0, proc.stderr
    return kb, proc.stdout


def kernelbench_view(kb, run_name, level, hardware):
    """What benchmark_eval_analysis.py works from: sample 0 of each problem id (a string key), and the
    baseline of level<L> by problem file name; eval_from_generations.py's kernel path per sample."""
    runs = kb / "runs" / run_name
    eval_results = json.loads((runs / "eval_results.json").read_text())
    baseline = json.loads((kb / "results" / "timing" / hardware / "baseline_time_torch.json").read_text())
    names = {int(p.stem.split("_")[0]): p.name for p in (DATA / "KernelBench" / f"level{level}").glob("*.py")}
    view = {}
    for key, entries in eval_results.items():
        sample0 = [e for e in entries if e["sample_id"] == 0]
        assert len(sample0) <= 1
        kernels = {
            e["sample_id"]: runs / f"level_{level}_problem_{key}_sample_{e['sample_id']}_kernel.py" for e in entries
        }
        view[int(key)] = {"entry": sample0[0], "entries": entries, "kernels": kernels}
        view[int(key)]["baseline"] = baseline[f"level{level}"].get(names[int(key)])
    return view


def test_the_run_reads_back_as_kernelbench_reads_it(run, exported):
    kb, _ = exported
    view = kernelbench_view(kb, "results", 1, "x86_64")
    assert sorted(view) == [1, 4]
    scored = [(v["entry"]["correctness"], v["baseline"]["mean"], v["entry"]["runtime"]) for v in view.values()]
    speedups = [base / rt for ok, base, rt in scored if ok]
    # Sample 0's KernelBench speedup is the one our run gave its best kernel.
    relu0 = best_of([r for r in read_results(run / "1_Small_ReLU") if r["sample"] == 0])
    assert speedups == [pytest.approx(relu0["speedup"], rel=1e-9)]
    fast_p = {p: sum(1 for s in speedups if s > p) / len(scored) for p in FAST_P}
    summary = json.loads((run / "summary.json").read_text())
    assert fast_p == {p: summary["fast_p"][f"fast_{p:g}"] for p in FAST_P}  # both samples found the same kernel
    relu = view[1]["entry"]
    assert relu["runtime"] == relu0["timing"]["candidate"]["median_ms"]
    stats = relu["runtime_stats"]
    assert stats["mean"] == relu["runtime"] and stats["statistic"] == "median" and stats["num_trials"] > 0
    assert stats["min"] <= stats["mean"] <= stats["max"] and stats["hardware"] == "x86_64"
    assert relu["metadata"]["correctness_trials"].startswith("(") and relu["metadata"]["hipgen"]["fragile"] is False


def test_every_sample_has_its_kernel_file(run, exported):
    kb, _ = exported
    view = kernelbench_view(kb, "results", 1, "x86_64")
    for v in view.values():
        assert [e["sample_id"] for e in v["entries"]] == [0, 1]
        for e in v["entries"]:
            result_file = run / e["metadata"]["hipgen"]["result_file"]
            result = json.loads(result_file.read_text())
            assert v["kernels"][e["sample_id"]].read_text() == (result_file.parent / result["code_file"]).read_text()
            assert result["sample"] == e["sample_id"] and e["compiled"] == result["compiled"]


def test_a_sample_without_a_correct_kernel_is_exported_as_failed(exported):
    kb, out = exported
    view = kernelbench_view(kb, "results", 1, "x86_64")
    row_sum = view[4]
    for e in row_sum["entries"]:
        assert e["compiled"] is False and e["correctness"] is False
        assert e["runtime"] == -1.0 and e["runtime_stats"] == {}
        assert "compilation_error" in e["metadata"] and e["metadata"]["hipgen"]["status"] == "build_error"
    # No kernel of it was timed: the baseline keeps it with a null mean, so the analysis counts it as failed.
    assert row_sum["baseline"]["mean"] is None
    assert "4_Row_Sum" in out and "counts it as failed" in out


def test_hardware_and_run_name_flags(run, tmp_path):
    proc = agent(
        "export", str(run), "--kernelbench", str(tmp_path / "kb"), "--hardware", "H200_lab", "--run-name", "r1"
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "kb" / "results" / "timing" / "H200_lab" / "baseline_time_torch.json").is_file()
    assert (tmp_path / "kb" / "runs" / "r1" / "level_1_problem_1_sample_0_kernel.py").is_file()
    assert "run_name=r1 level=1 hardware=H200_lab" in proc.stdout


def test_user_mistakes_get_one_line(run, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    (tmp_path / "file").write_text("")
    for name, config in (("no_device", {}), ("empty_run", {"device": {"device_name": "NVIDIA H200"}})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run_config.json").write_text(json.dumps({"settings": {"level": 1}, **config}))
    cases = [
        ((str(tmp_path), "--kernelbench", str(tmp_path / "o1")), "is not a results folder"),
        ((str(run), "--kernelbench", str(tmp_path / "full")), "already exists and is not empty"),
        ((str(run), "--kernelbench", str(tmp_path / "file")), "is a file"),
        ((str(run), "--kernelbench", str(tmp_path / "o2"), "--hardware", "a/b"), "Bad --hardware 'a/b'"),
        ((str(tmp_path / "no_device"), "--kernelbench", str(tmp_path / "o3")), "pass --hardware NAME"),
        ((str(tmp_path / "empty_run"), "--kernelbench", str(tmp_path / "o4")), "holds no sample yet"),
    ]
    for args, needle in cases:
        proc = agent("export", *args)
        assert proc.returncode == 2 and needle in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_which_kernel_a_sample_hands_over():
    wrong = {"n": 0, "compiled": True, "correct": False}
    slow = {"n": 1, "compiled": True, "correct": True, "speedup": 0.5}
    fast = {"n": 2, "compiled": True, "correct": True, "speedup": 1.5}
    broken = {"n": 3, "compiled": False, "correct": False}
    assert pick([wrong, fast, slow, broken]) == (fast, "best correct kernel")
    assert pick([wrong, broken])[0] is wrong
    assert pick([broken])[0] is broken
    assert pick([]) == (None, "no kernel written")
    none = entry_for(3, None, "no kernel written", "19_ReLU")
    assert (none.compiled, none.correctness, none.runtime) == (False, False, -1.0)
    assert hardware_name({"device": {"device_name": "NVIDIA H200"}}, None) == "NVIDIA_H200"
