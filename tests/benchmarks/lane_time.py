"""GPU lane seconds per candidate, split by step, on problems of KernelBench's full level-1 and level-2
sizes (tests/benchmarks/data/lane_time: 6 GiB tensors, and a 1024 x 8192 x 8192 GEMM), each solved by
its honest CUDA fixture. One candidate goes through what an agent's thread asks: check_correctness
(build, check, robust), then profile_kernel (profile, time, and a re-timing in a fresh worker where it
reaches 1x, as a run with --target 1 does). Its lane time is every interval lanes.jsonl records for its
source. The counters pass the search runs for each new best (ncu) is measured apart, with --counters.

Several trees can be measured in one run on one machine (--tree NAME=PATH, each in its own process
with that tree's harness on its path; the builds are shared through --cache), so before and after
come from the same GPU. The baseline (read_reference's, once per problem) is not a candidate's and is
listed apart.

Run on a GPU machine:
  python -m tests.benchmarks.lane_time --cache DIR [--tree before=PATH] [--tree after=.] [--counters]
      [--problems 19,76] [--json FILE]"""

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
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = HERE / "data" / "lane_time"
KERNELS = ROOT / "tests" / "kernels" / "cuda" / "good"
FIXTURES = {
    "level1/19_ReLU_Full": "relu.py",
    "level1/20_Leaky_ReLU_Full": "leaky_relu.py",
    "level1/21_Sigmoid_Full": "sigmoid.py",
    "level1/22_Tanh_Full": "tanh.py",
    "level1/23_Softmax_Full": "softmax.py",
    "level1/25_Swish_Full": "swish.py",
    "level1/39_L2_Normalize_Full": "row_l2_normalize.py",
    "level1/47_Row_Sum_Full": "row_sum.py",
    "level2/40_Bias_GELU_Full": "bias_gelu.py",
    "level2/76_Gemm_Add_ReLU_Full": "gemm_bias_relu.py",
}
STEPS = ["check", "robust", "profile", "time", "retime", "other"]
TARGET_MEDIAN_S, TARGET_MAX_S = 1.5, 3.0


def _lane_intervals(log: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        rec = json.loads(line)
        out.setdefault(rec["source_hash"], []).append(rec)
    return out


def _is_counters(rec: dict) -> bool:
    return "replay" in rec["phases"]


def _row(key: str, check, prof, intervals: list[dict]) -> dict:
    """One candidate's figures: lane seconds in all and per step (what the worker reported for each
    phase; `other` is the rest of the lane time: the worker taking the request, importing the build,
    creating the context and the models, and ending)."""
    lane = sum(r["end"] - r["start"] for r in intervals if not _is_counters(r))
    counters = sum(r["end"] - r["start"] for r in intervals if _is_counters(r))
    retime_lane = sum(r["end"] - r["start"] for r in intervals if r["phases"] == ["build", "time"])
    steps = {
        "check": check.check.seconds if check.check else 0.0,
        "robust": check.robustness.seconds if check.robustness else 0.0,
        "profile": prof.profile.seconds if prof.profile else 0.0,
        "time": (prof.first_timing or prof.timing).seconds if (prof.first_timing or prof.timing) else 0.0,
        "retime": retime_lane,
    }
    steps["other"] = max(0.0, lane - sum(steps.values()))
    return {
        "problem": key,
        "status": prof.status.value,
        "speedup": prof.speedup,
        "lane_s": lane,
        "counters_s": counters,
        "steps": steps,
        "check_steps": dict(check.check.steps) if check.check else {},
        "robust_steps": dict(getattr(check.robustness, "steps", {}) or {}),
        "worker_wait_s": sum(r.get("worker_wait", 0.0) for r in intervals),
        # timed pairs in the time phase and in the re-timing: how often the stop rule settled early
        "trials": [t.candidate.trials for t in (prof.first_timing, prof.timing) if t is not None],
        "stopped_by": [getattr(t, "stopped_by", "") for t in (prof.first_timing, prof.timing) if t is not None],
        "holds": len(intervals),
        # per hold: the worker's start-up before its first phase, and its ending after its verdict
        "hold_marks": [
            {k: r.get(k) for k in ("phases", "startup_s", "ending_s", "phase_s")}
            | {"s": round(r["end"] - r["start"], 3)}
            for r in intervals
        ],
        # the timed pass's own steps, and every timed call, for the first timing and the re-timing
        "time_steps": [getattr(t, "steps", {}) for t in (prof.first_timing, prof.timing) if t is not None],
        "samples": [
            {"ref": getattr(t.reference, "samples_ms", []), "cand": getattr(t.candidate, "samples_ms", [])}
            for t in (prof.first_timing, prof.timing)
            if t is not None
        ],
    }


def measure(cache: Path, keys: list[str], counters: bool, log: Path) -> dict:
    """Every candidate of `keys` through one Evaluator of the harness on sys.path."""
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    ev = Evaluator(EvalConfig(platform="cuda", cache_dir=cache, retime_at=1.0), lane_log=log)
    ev.start_spares()
    work = [(Problem.from_file(DATA / f"{k}.py"), (KERNELS / FIXTURES[k]).read_text()) for k in keys]
    t0 = time.monotonic()
    with ThreadPoolExecutor(len(work)) as pool:
        built = list(pool.map(lambda w: ev.evaluate(w[0], w[1], "build"), work))
    build_s = time.monotonic() - t0
    rows, baselines = [], {}
    for key, (problem, source), b in zip(keys, work, built, strict=False):
        if b.status.value != "ok":
            rows.append({"problem": key, "status": b.status.value, "reason": b.reason[:300]})
            continue
        t1 = time.monotonic()
        ev.baseline(problem)
        baselines[key] = time.monotonic() - t1
        check = ev.evaluate(problem, source, "check")
        prof = ev.evaluate(problem, source, "profile")
        if counters and prof.status.value == "ok":
            ev.counters(problem, source, prof)
        h = ev.source_hash(source)
        row = _row(key, check, prof, _lane_intervals(log).get(h, []))
        row["reason"] = prof.reason[:300]
        rows.append(row)
        print(
            f"  {key}: lane {row['lane_s']:.2f} s, {row['status']} {row['speedup'] or 0:.3f}x; {_steps_line(row)}",
            flush=True,
        )
    ev.close()
    return {"device": ev.device_info().get("device_name"), "build_s": build_s, "baselines": baselines, "rows": rows}


def _steps_line(row: dict) -> str:
    """The row's steps on one line, printed as each problem ends: a run cut off by a time limit keeps
    what it measured in its log."""
    steps = " ".join(f"{k} {v:.2f}" for k, v in row["steps"].items())
    check = " ".join(f"{k} {v:.2f}" for k, v in row["check_steps"].items())
    counters = f", counters {row['counters_s']:.2f} s" if row["counters_s"] else ""
    return f"{steps}; check: {check}; pairs {row['trials']} {row['stopped_by']}{counters}"


def _fmt(v, spec="{:.2f}") -> str:
    return "-" if v is None else spec.format(v)


def summary(rows: list[dict]) -> dict:
    lanes = [r["lane_s"] for r in rows if "lane_s" in r]
    with_counters = [r["lane_s"] + r["counters_s"] for r in rows if "lane_s" in r]
    if not lanes:
        return {}
    return {
        "median_s": statistics.median(lanes),
        "max_s": max(lanes),
        "per_hour": 3600 / statistics.mean(lanes),
        "median_with_counters_s": statistics.median(with_counters),
        "per_hour_with_counters": 3600 / statistics.mean(with_counters),
    }


def table(name: str, result: dict) -> str:
    lines = [
        f"### {name}: {result.get('device')}, builds {result.get('build_s', 0):.0f} s (parallel, not lane time)",
        "",
        "| problem | status | speedup | lane s | "
        + " | ".join(f"{s} s" for s in STEPS)
        + " | counters s | baseline s |",
        "|---" * (len(STEPS) + 6) + "|",
    ]
    for r in result["rows"]:
        if "lane_s" not in r:
            lines.append(f"| {r['problem']} | {r['status']} | {r.get('reason', '')} |")
            continue
        steps = " | ".join(_fmt(r["steps"][s]) for s in STEPS)
        base = result["baselines"].get(r["problem"])
        lines.append(
            f"| {r['problem']} | {r['status']} | {_fmt(r['speedup'], '{:.3f}x')} | {r['lane_s']:.2f} | {steps} | "
            f"{_fmt(r['counters_s'] or None)} | {_fmt(base)} |"
        )
    s = summary(result["rows"])
    if s:
        lines += [
            "",
            f"median {s['median_s']:.2f} s, max {s['max_s']:.2f} s, {s['per_hour']:.0f} candidates/hour of lane time; "
            f"with the counters pass: median {s['median_with_counters_s']:.2f} s, {s['per_hour_with_counters']:.0f}/hour",
        ]
    return "\n".join(lines)


def check_steps_table(results: dict[str, dict]) -> str:
    names = sorted({k for res in results.values() for r in res["rows"] for k in r.get("check_steps", {})})
    lines = ["| tree | problem | " + " | ".join(names) + " |", "|---" * (len(names) + 2) + "|"]
    for tree, res in results.items():
        for r in res["rows"]:
            if r.get("check_steps"):
                lines.append(
                    f"| {tree} | {r['problem']} | " + " | ".join(_fmt(r["check_steps"].get(n)) for n in names) + " |"
                )
    return "\n".join(lines)


def compare_table(results: dict[str, dict]) -> str:
    names = list(results)
    lines = [
        "| tree | median lane s | max lane s | cand/hour | with counters: median s | cand/hour |",
        "|---|---|---|---|---|---|",
    ]
    for n in names:
        s = summary(results[n]["rows"])
        if s:
            lines.append(
                f"| {n} | {s['median_s']:.2f} | {s['max_s']:.2f} | {s['per_hour']:.0f} | "
                f"{s['median_with_counters_s']:.2f} | {s['per_hour_with_counters']:.0f} |"
            )
    last = summary(results[names[-1]]["rows"])
    if last:
        met = last["median_s"] <= TARGET_MEDIAN_S and last["max_s"] <= TARGET_MAX_S
        lines.append(
            f"\ntargets for {names[-1]}: median <= {TARGET_MEDIAN_S} s, none over {TARGET_MAX_S} s: {'MET' if met else 'MISSED'}"
        )
    return "\n".join(lines)


def run_tree(name: str, tree: Path, args) -> dict:
    """This file, run by path with the tree's harness first on the path, in a process of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", "--cache", str(args.cache)]
        cmd += ["--json", str(out), "--log", str(Path(tmp) / "lanes.jsonl"), "--problems", ",".join(args.keys)]
        cmd += ["--counters"] if args.counters else []
        env = dict(os.environ, PYTHONPATH=str(tree))
        print(f"== {name}: {tree}", flush=True)
        proc = subprocess.run(cmd, cwd=tree, env=env, timeout=args.timeout)
        if proc.returncode != 0 or not out.exists():
            raise SystemExit(f"the {name} tree's run failed (exit {proc.returncode})")
        return json.loads(out.read_text())


def _keys(spec: str | None) -> list[str]:
    if not spec:
        return list(FIXTURES)
    wanted = [p.strip() for p in spec.split(",") if p.strip()]
    keys = [k for k in FIXTURES if k in wanted or k.split("/")[1].split("_")[0] in wanted]
    if not keys:
        raise SystemExit(f"--problems names none of {', '.join(FIXTURES)}")
    return keys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, required=True, help="build cache shared by the trees")
    ap.add_argument("--tree", action="append", default=[], help="NAME=PATH of a checkout to measure (default after=.)")
    ap.add_argument("--problems", help="ids or names, comma-separated (default: all ten)")
    ap.add_argument("--counters", action="store_true", help="also run the counters pass (ncu) on each candidate")
    ap.add_argument("--json", type=Path, help="where the figures go as JSON")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per tree")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--log", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.keys = _keys(args.problems)
    if args.measure:
        args.json.write_text(json.dumps(measure(args.cache, args.keys, args.counters, args.log), default=str))
        return 0
    trees = [t.split("=", 1) for t in args.tree] or [["after", str(ROOT)]]
    results = {name: run_tree(name, Path(path).resolve(), args) for name, path in trees}
    for name, res in results.items():
        print("\n" + table(name, res))
    print("\ncheck phase, seconds per step (summed over its trials):\n" + check_steps_table(results))
    print("\n" + compare_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
