"""On a real GPU (`pytest -m gpu tests/test_ray_gpu.py`): `agent solve --ray` on the cuda platform, with one
Ray node per GPU of this machine (each started seeing its GPU alone, as `CUDA_VISIBLE_DEVICES=i ray start
--num-gpus 1` would), the scripted model and honest CUDA kernels. Every GPU is a lane; the run's
results and lanes.jsonl come back to the driver. Lines starting FIGURE are the measurements.

Ray is not on the lent GPU machine, and its wheel is more than one call carries:
scripts/device-ray-wheels.sh says how to carry it in two calls and install it there."""

import json
import os
import subprocess
import time

import pytest

from tests.conftest import AGENT, DATA, ROOT, agent_env

pytestmark = pytest.mark.gpu

GPU_DATA = DATA / "gpu"


@pytest.fixture(scope="module")
def gpu_cluster():
    try:
        from ray.cluster_utils import Cluster
    except ImportError:
        pytest.fail("Ray is not installed here: see scripts/device-ray-wheels.sh")
    import torch

    n = torch.cuda.device_count()
    if n == 0:
        pytest.fail("-m gpu needs a CUDA GPU")
    before = {k: os.environ.get(k) for k in ("PYTHONPATH", "CUDA_VISIBLE_DEVICES")}
    visible = [d for d in (before["CUDA_VISIBLE_DEVICES"] or "").split(",") if d.strip()] or [str(i) for i in range(n)]
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + (before["PYTHONPATH"] or "")
    nodes = []
    try:
        c = None
        for gpu in visible:
            os.environ["CUDA_VISIBLE_DEVICES"] = gpu
            args = {"num_gpus": 1, "num_cpus": max(2, (os.cpu_count() or 2) // len(visible))}
            if c is None:
                c = Cluster(initialize_head=True, head_node_args=args)
                nodes.append(c.head_node)
            else:
                nodes.append(c.add_node(**args))
        c.wait_for_nodes()
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        yield c, nodes
    finally:
        c.shutdown()


def test_agent_solve_on_a_ray_lane_per_gpu(gpu_cluster, cache_dir, tmp_path):
    c, nodes = gpu_cluster
    out = tmp_path / "results"
    script = {
        "19_Big_ReLU": ["cuda/bad/relu_wrong.py", "cuda/good/relu.py"],
        "40_Add_Bias_GELU": ["cuda/good/bias_gelu.py"],
    }
    cmd = AGENT + [
        "solve",
        "--dataset",
        str(GPU_DATA),
        "--level1",
        "--range",
        "19,40",
        "--samples",
        "1",
        "--concurrency",
        "2",
        "--model",
        "tests.scripted_solver:factory",
        "--platform",
        "cuda",
        "--out",
        str(out),
        "--ray",
        c.address,
    ]
    env = agent_env(HIPGEN_SCRIPT=json.dumps(script), HIPGEN_CACHE_DIR=str(cache_dir), RAY_ADDRESS="")
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500)
    wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{len(nodes)} lane{'s' if len(nodes) > 1 else ''} on {len(nodes)} Ray node" in proc.stderr, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["device"]["device_name"].startswith("NVIDIA")
    for name in script:
        assert summary["problems"][name]["status"] in ("success", "partial")
        best = json.loads((out / name / "best_result.json").read_text())
        assert best["correct"] and best["platform"] == "cuda"
        print(f"FIGURE ray solve {name}: best {best['speedup']:.3f}x, wall {best['wall_seconds']:.1f} s")
    relu = [json.loads(f.read_text()) for f in sorted((out / "19_Big_ReLU").glob("result_*.json"))]
    assert [r["status"] for r in relu] == ["incorrect", "ok"]
    recs = [json.loads(line) for line in (out / "lanes.jsonl").read_text().splitlines()]
    used = {r["node"] for r in recs}
    assert used <= {n.node_id for n in nodes} and (len(nodes) == 1 or len(used) >= 2)
    busy = sum(r["end"] - r["start"] for r in recs)
    print(f"FIGURE ray solve: {len(nodes)} node(s), {len(recs)} lane intervals, busy {busy:.1f} s, wall {wall:.1f} s")
