"""`agent solve --ray` on a real Ray cluster: a head and a second node on this machine (Ray's own cluster
utilities start their processes, as `ray start` would), the cpu platform, real builds, checks and timing
in the sandbox on the nodes, the scripted model. A run uses both nodes, and when its second node is
killed while it compiles a candidate, the run still gets every result, once. Without Ray installed, or with no
cluster at the address, `--ray` fails in one line."""

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import AGENT, DATA, KERNELS, ROOT, agent_env

GOOD = {"1_Small_ReLU": ["cpu/good/relu.py"], "4_Row_Sum": ["cpu/good/row_sum.py"]}


@contextlib.contextmanager
def _environ(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes of one CPU each (so one cpu lane each), whose workers import this checkout."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    with _environ(PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")):
        c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        second = c.add_node(num_cpus=1)
        c.wait_for_nodes()
    try:
        yield c, second
    finally:
        c.shutdown()


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> Path:
    """A build cache for this module's runs: empty at the node-death test, which must find the second node
    compiling; the driver-death test after it finds its builds there."""
    return tmp_path_factory.mktemp("ray-builds")


def solve_cmd(out: Path, address: str, *extra: str, rng: str = "1,4") -> list[str]:
    return AGENT + [
        "solve",
        "--dataset",
        str(DATA),
        "--level1",
        "--range",
        rng,
        "--model",
        "tests.scripted_solver:factory",
        "--platform",
        "cpu",
        "--target",
        "0.05",
        "--out",
        str(out),
        "--ray",
        address,
        *extra,
    ]


def ray_env(cache: Path, script: dict, **extra) -> dict:
    return agent_env(HIPGEN_SCRIPT=json.dumps(script), HIPGEN_CACHE_DIR=str(cache), RAY_ADDRESS="", **extra)


def lanes(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "lanes.jsonl").read_text().splitlines()]


def test_a_lanes_depth_is_the_runs_threads_spread_over_the_lanes():
    """Every evaluation takes a fresh worker whose imports outlast its turn on a GPU, so a lane takes a
    share of the run's threads at once and keeps as many spares; within bounds, or as the user asked."""
    from tools.harness.ray_lanes import IN_FLIGHT, MAX_DEPTH, lane_depth

    assert lane_depth(4, 1) == 4  # one GPU: as many as a run without Ray keeps
    assert lane_depth(24, 8) == 3 and lane_depth(25, 8) == 4
    assert lane_depth(1, 8) == IN_FLIGHT  # one builds while another measures
    assert lane_depth(100, 1) == lane_depth(100, 0) == MAX_DEPTH
    assert lane_depth(4, 1, asked=9) == 9 and lane_depth(4, 1, asked=1) == 1


def test_without_ray_installed_says_how_to_install_it(tmp_path):
    code = "import sys; sys.modules['ray'] = None; from agent.cli import main; sys.argv[0] = 'agent'; main()"
    cmd = [sys.executable, "-c", code, *solve_cmd(tmp_path / "r", "auto")[len(AGENT) :]]
    proc = subprocess.run(cmd, env=ray_env(tmp_path, GOOD), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "pip install 'hipgenerator[ray]'" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_no_cluster_at_the_address_is_one_line(tmp_path):
    pytest.importorskip("ray")
    proc = subprocess.run(
        solve_cmd(tmp_path / "r", "127.0.0.1:1"),
        env=ray_env(tmp_path, GOOD),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: Could not reach the Ray cluster at 127.0.0.1:1: ") and "ray start --head" in line


def test_a_cluster_with_no_lane_for_the_platform_is_one_line(cluster, tmp_path):
    c, _ = cluster
    cmd = solve_cmd(tmp_path / "r", c.address)
    cmd[cmd.index("cpu")] = "cuda"  # the nodes have no GPU
    proc = subprocess.run(cmd, env=ray_env(tmp_path, GOOD), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: The Ray cluster offers no lane for the cuda platform: a lane holds num_gpus=1")


def _descendants_running(root_pid: int, name: str) -> bool:
    """Whether a process called `name` runs under `root_pid` (its children, theirs, ...)."""
    parent: dict[int, int] = {}
    comm: dict[int, str] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        pid = int(d.name)
        comm[pid] = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent[pid] = int(stat[stat.rindex(")") + 2 :].split()[1])
    for pid, what in comm.items():
        if what != name:
            continue
        p = pid
        while p > 1:
            p = parent.get(p, 0)
            if p == root_pid:
                return True
    return False


def test_a_run_uses_both_nodes_and_loses_nothing_when_one_dies(cluster, builds, tmp_path):
    """Two problems, a thread each: their references are timed one on each node, then the second node
    dies while it compiles a candidate. That evaluation runs again on the head's lane, and every
    candidate has its one result. (One run for both, to keep CI short: the module's build cache is
    empty when it starts, so the second node is sure to be compiling when it is killed.)"""
    c, second = cluster
    out = tmp_path / "results"
    cmd = solve_cmd(out, c.address, "--samples", "1", "--concurrency", "2")
    raylet = second.all_processes["raylet"][0].process.pid
    proc = subprocess.Popen(cmd, env=ray_env(builds, GOOD), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while proc.poll() is None and time.time() < deadline and not _descendants_running(raylet, "cc1plus"):
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before the second node compiled anything: " + proc.stderr.read()[-2000:]
    c.remove_node(second, allow_graceful=False)
    _, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-3000:]
    assert "2 lanes on 2 Ray nodes" in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["success"] == 2
    for name in GOOD:  # one candidate per problem, recorded once, though its evaluation ran twice
        (result,) = [json.loads(f.read_text()) for f in (out / name).glob("result_*.json")]
        assert result["correct"] and result["sample"] == 0
    recs = lanes(out)
    assert {r["node"] for r in recs} == {c.head_node.node_id, second.node_id}
    assert all(r["lane"].startswith(r["node"][:8] + "/") and r["host"] and r["end"] >= r["start"] for r in recs)
    assert {r["problem"] for r in recs if r["node"] == second.node_id} <= set(GOOD)
    log = (out / "batch_run.log").read_text()
    assert f"ray lane {second.node_id[:8]}/0" in log and "dropped" in log
    config = json.loads((out / "run_config.json").read_text())
    assert len(config["ray"]["lanes"]) == 2
    assert config["ray"]["depth"] == 2  # two threads over two lanes, and never fewer than two a lane
    status = subprocess.run(AGENT + ["status", str(out)], env=agent_env(), capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    assert "problems 2/2 finished" in status.stdout
    for node in (c.head_node.node_id, second.node_id):
        assert f"node {node[:8]} (1 lane)" in status.stdout


def test_a_run_whose_driver_is_killed_resumes_on_the_cluster(cluster, builds, tmp_path):
    """kill -9 of `agent solve --ray` once its first result is saved: the dead driver's lane actors go
    with it, and `--resume` gets lanes on the same cluster again and finishes with every result once.
    (Its builds come from the node-death test's cache where that ran first.)"""
    import signal

    c, _ = cluster
    out = tmp_path / "results"
    script = {"1_Small_ReLU": GOOD["1_Small_ReLU"]}
    cmd = solve_cmd(out, c.address, "--samples", "1", rng="1")
    env = ray_env(builds, script)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    assert _until(lambda: list(out.glob("*/result_*.json")) or proc.poll() is not None, 600)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists()
    again = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Ray node" in again.stderr  # the nodes left after the node-death test above, or both
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["success"] == 1
    for name in script:  # each candidate source recorded once, across the kill
        hashes = [json.loads(f.read_text())["source_hash"] for f in (out / name).glob("result_*.json")]
        assert hashes and len(hashes) == len(set(hashes)), (name, hashes)


def test_agent_eval_evaluates_on_the_cluster(cluster, builds):
    """`agent eval --ray`: one kernel judged on a lane of the cluster, whose lanes, not this machine's,
    decide which platforms can run."""
    c, _ = cluster
    args = ["eval", str(KERNELS / "cpu/good/relu.py"), "--problem", str(DATA / "KernelBench/level1/1_Small_ReLU.py")]
    args += ["--upto", "check", "--ray", c.address]
    env = ray_env(builds, {})
    ok = subprocess.run(
        AGENT + args + ["--platform", "cpu", "--json"], env=env, capture_output=True, text=True, timeout=600
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout)["correct"]
    none = subprocess.run(AGENT + args + ["--platform", "cuda"], env=env, capture_output=True, text=True, timeout=300)
    assert none.returncode == 2, none.stderr[-2000:]
    (line,) = none.stderr.strip().splitlines()
    assert line.startswith("error: The Ray cluster offers no lane for the cuda platform"), line


def _until(what, timeout: float = 180.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if what():
            return True
        time.sleep(0.5)
    return False


def test_the_lanes_follow_nodes_joining_and_leaving(cluster, tmp_path):
    """A node that joins gets a lane within the pool's next look at the cluster; one that leaves loses it."""
    from tools.harness.config import EvalConfig
    from tools.harness.ray_evaluator import RayEvaluator
    from tools.harness.ray_lanes import IN_FLIGHT, lane_depth

    c, _ = cluster
    ev = RayEvaluator(EvalConfig(platform="cpu", cache_dir=tmp_path / "cache"), c.address, threads=5)
    try:
        before = set(ev.lane_devices())
        assert before and all("/" in lane for lane in before)
        # five threads over the lanes there at the start: each lane takes that share, and keeps as many spares
        assert ev.depth == lane_depth(5, len(before)) > IN_FLIGHT
        assert {lane.info["spares"] for lane in ev.pool.alive()} == {ev.depth}
        with _environ(PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")):
            third = c.add_node(num_cpus=1)
        assert _until(lambda: set(ev.lane_devices()) == before | {f"{third.node_id[:8]}/0"}), ev.lane_devices()
        joined = ev.pool.lanes[f"{third.node_id[:8]}/0"]
        assert f"{third.node_id[:8]} ({joined.host})" in ev.lanes_per_node()
        assert joined.info["spares"] == ev.depth
        c.remove_node(third, allow_graceful=False)
        assert _until(lambda: set(ev.lane_devices()) == before), ev.lane_devices()
    finally:
        ev.close()
