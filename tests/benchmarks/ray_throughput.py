"""Throughput of `agent solve --ray` against its lanes, and what Ray adds to one evaluation, without an LLM:
the scripted model (tests.scripted_solver) writes each problem's honest fixture, one variant per sample
(HIPGEN_SCRIPT_VARY=1, so every sample is a distinct candidate sharing one native build). The Ray clusters
are real ones on this machine (Ray's own cluster utilities), started and stopped by this script.

  --platform cpu (default): candidates per hour with no Ray (one lane), on a Ray cluster of 1 node, and of
      2 nodes (one cpu lane each), over the cpu problems of tests/data/KernelBench/level1.
  --platform cuda: candidates per hour on one GPU without Ray, and on one GPU through a 1-node Ray cluster,
      over the problems of tests/benchmarks/gpu_problems.json.
Both then time the same candidate (its build cached; a comment makes each repeat a distinct source, so no
result is reused) through a local lane and through a Ray lane, interleaved, and print the median wall time
of each and their difference: the overhead per evaluation that Ray adds.

Run:  python -m tests.benchmarks.ray_throughput --cache DIR [--platform cuda] [--samples 2] [--repeats 5]
It prints a markdown table for tests/benchmarks/results/ray_throughput.md."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "tests" / "kernels"
CPU_PROBLEMS = {
    "1_Small_ReLU": "cpu/good/relu.py",
    "2_Scale_Shift": "cpu/good/scale_shift.py",
    "4_Row_Sum": "cpu/good/row_sum.py",
}


def problems(platform: str) -> tuple[Path, dict[str, str], str]:
    """(dataset folder, problem -> fixture, --range)"""
    if platform == "cpu":
        return ROOT / "tests" / "data" / "KernelBench", CPU_PROBLEMS, "1,2,4"
    table = json.loads((ROOT / "tests" / "benchmarks" / "gpu_problems.json").read_text())["problems"][:4]
    picked = {p["problem"]: p["fixture"] for p in table}
    return ROOT / "tests" / "data" / "gpu", picked, ",".join(p.split("_", 1)[0] for p in picked)


@contextmanager
def cluster(nodes: int, platform: str):
    """A Ray cluster of `nodes` nodes on this machine: one cpu lane each, or one GPU each (GPU i for node i)."""
    from ray.cluster_utils import Cluster

    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "CUDA_VISIBLE_DEVICES")}
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + (saved["PYTHONPATH"] or "")
    c = None
    try:
        for i in range(nodes):
            args = {"num_cpus": 1}
            if platform != "cpu":
                os.environ["CUDA_VISIBLE_DEVICES"] = str(i)
                args = {"num_gpus": 1, "num_cpus": 4}
            if c is None:
                c = Cluster(initialize_head=True, head_node_args=args)
            else:
                c.add_node(**args)
        c.wait_for_nodes()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    try:
        yield c.address
    finally:
        c.shutdown()


def solve(args, address: str | None, out: Path) -> dict:
    """One scripted run; its candidates, wall seconds and candidates per hour."""
    dataset, picked, rng = problems(args.platform)
    script = {name: [fixture] for name, fixture in picked.items()}
    cmd = [sys.executable, "-m", "agent.cli", "solve", "--dataset", str(dataset), "--level1", "--range", rng]
    cmd += ["--samples", str(args.samples), "--concurrency", str(args.concurrency), "--model"]
    cmd += ["tests.scripted_solver:factory", "--platform", args.platform, "--target", "0.01", "--out", str(out)]
    cmd += ["--ray", address] if address else []
    env = dict(os.environ, PYTHONPATH=str(ROOT), HIPGEN_CACHE_DIR=str(args.cache), RAY_ADDRESS="")
    env.update(HIPGEN_SCRIPT=json.dumps(script), HIPGEN_SCRIPT_VARY="1")
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"the run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    results = list(out.glob("*/result_*.json"))
    lanes = [json.loads(x) for x in (out / "lanes.jsonl").read_text().splitlines()]
    return {
        "candidates": len(results),
        "wall_s": wall,
        "per_hour": len(results) / wall * 3600,
        "nodes": len({r["node"] for r in lanes}),
        "lane_busy_s": sum(r["end"] - r["start"] for r in lanes),
        # waiting for a spare's imports: what bounds a GPU lane whose evaluations outnumber its spares
        "worker_wait_s": statistics.mean(r.get("worker_wait", 0.0) for r in lanes),
    }


def prewarm(args) -> None:
    """Every fixture built into the cache first, so no row pays for a cold build the others do not."""
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    dataset, picked, _ = problems(args.platform)
    ev = Evaluator(EvalConfig(platform=args.platform, cache_dir=args.cache))

    def build(item: tuple[str, str]):
        name, fixture = item
        return ev.evaluate(
            Problem.from_file(dataset / "level1" / f"{name}.py"), (KERNELS / fixture).read_text(), "build"
        )

    try:
        t0 = time.monotonic()
        # in parallel, one compiler each: four nvcc builds one after another took most of a 290 s GPU call
        with ThreadPoolExecutor(len(picked)) as pool:
            for name, r in zip(picked, pool.map(build, picked.items()), strict=True):
                print(f"prewarm {name}: {r.status.value}", flush=True)
        print(f"prewarm: {time.monotonic() - t0:.0f} s", flush=True)
    finally:
        ev.close()


def overhead(args, address: str) -> dict[str, list[float]]:
    """The same candidate, checked through a local lane and through a Ray lane, in turn. Before each, the
    side's spare worker is given `--settle` seconds to finish its imports (on the cpu platform a spare
    starts when the evaluation before it ends), so both are timed with a ready worker. Besides each
    side's wall time, the Ray lane's own wall time for the evaluation (EvalResult.wall_seconds, measured
    on the node), whose difference from the driver's is what the Ray call itself costs."""
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.harness.ray_evaluator import RayEvaluator
    from tools.problem import Problem

    dataset, picked, _ = problems(args.platform)
    name, fixture = next(iter(picked.items()))
    problem = Problem.from_file(dataset / "level1" / f"{name}.py")
    source = (KERNELS / fixture).read_text()
    config = EvalConfig(platform=args.platform, cache_dir=args.cache)
    local, ray = Evaluator(config), RayEvaluator(config, address)
    times: dict[str, list[float]] = {"local": [], "ray": [], "ray_node": []}
    try:
        for ev in (local, ray):  # a first evaluation each, not counted: spares, baselines, FLOP count
            ev.evaluate(problem, source + "\n# warm\n", "check")
        for i in range(args.repeats):
            for label, ev in (("local", local), ("ray", ray)):
                time.sleep(args.settle)
                t0 = time.monotonic()
                r = ev.evaluate(problem, source + f"\n# repeat {i}\n", "check")
                times[label].append(time.monotonic() - t0)
                assert r.correct, r.reason
                if label == "ray":
                    times["ray_node"].append(r.wall_seconds)
            print(f"repeat {i}: local {times['local'][-1]:.2f} s, ray {times['ray'][-1]:.2f} s", flush=True)
    finally:
        local.close()
        ray.close()
    return times


def table(args, rows: list[tuple[str, dict]], times: dict[str, list[float]]) -> str:
    lines = [
        "| run | lanes (nodes) | candidates | wall s | candidates/hour | lane busy s | mean worker wait s |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in rows:
        lines.append(
            f"| {label} | {r['nodes']} | {r['candidates']} | {r['wall_s']:.0f} | {r['per_hour']:.0f} "
            f"| {r['lane_busy_s']:.0f} | {r['worker_wait_s']:.2f} |"
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    call = statistics.median(d - n for d, n in zip(times["ray"], times["ray_node"], strict=True))
    lines += [
        "",
        f"One evaluation (upto=check, build cached, a ready spare worker), median of {args.repeats}: local lane "
        f"{med['local']:.2f} s, Ray lane {med['ray']:.2f} s ({med['ray'] - med['local']:+.2f} s); of the Ray "
        f"lane's time, the call itself (driver's wall minus the node's) {call * 1000:.0f} ms. Ranges: local "
        f"{min(times['local']):.2f}-{max(times['local']):.2f} s, Ray {min(times['ray']):.2f}-{max(times['ray']):.2f} s.",
    ]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cache", type=Path, required=True, help="the build cache (HIPGEN_CACHE_DIR)")
    p.add_argument("--platform", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--settle", type=float, default=10.0, help="seconds before each timed evaluation")
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--overhead-only", action="store_true", help="skip the throughput runs")
    args = p.parse_args()
    args.cache = args.cache.resolve()
    sys.path.insert(0, str(ROOT))
    prewarm(args)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.overhead_only:
            rows.append(("no Ray, 1 lane", solve(args, None, Path(tmp) / "local")))
            print(rows[-1], flush=True)
        with cluster(1, args.platform) as address:
            if not args.overhead_only:
                rows.append(("Ray, 1 node", solve(args, address, Path(tmp) / "ray1")))
                print(rows[-1], flush=True)
            times = overhead(args, address)
        if args.platform == "cpu" and not args.overhead_only:
            with cluster(2, args.platform) as address:
                rows.append(("Ray, 2 nodes", solve(args, address, Path(tmp) / "ray2")))
                print(rows[-1], flush=True)
    print(table(args, rows, times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
