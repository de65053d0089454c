"""Search quality without a real model: the simulated engineer (tests/benchmarks/search_engineer.py)
solves problems of tests/data/gpu/level1 from its kernel library, once with `--search independent` and
once with `--search seeded`, the same samples and attempts each, through the real harness on the GPU.
Prints, per problem and mode, the best speedup reached and the model calls it took to reach the
library's best kernel, then the totals of calls and tokens per mode.

Run on a GPU machine:
  python -m tests.benchmarks.search_quality --out DIR [--samples 3] [--max-attempts 2] [--cache DIR]
--report-only DIR reads an earlier --out again. The library's kernels are built first, in parallel, into
the cache both modes share, so neither mode pays for builds inside its run. With 2 attempts a sample
cannot climb the whole library alone (wrong, slow, medium, fast): what one sample learns must reach the
next for a problem to get its fastest kernel, which is the question the two modes answer."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GPU_LEVEL1 = ROOT / "tests" / "data" / "gpu" / "level1"
LIBRARY = Path(__file__).resolve().parent / "search_library"
MODES = ("independent", "seeded")


def problems() -> list[str]:
    return sorted(d.name for d in LIBRARY.iterdir() if d.is_dir() and (GPU_LEVEL1 / f"{d.name}.py").exists())


def _env(args) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if args.cache:
        env["HIPGEN_CACHE_DIR"] = str(args.cache)
    return env


def prebuild(args) -> bool:
    """Every library kernel built once (`agent eval --upto build`), 8 at a time."""
    from tests.benchmarks.search_engineer import GRADES

    jobs = [(p, g) for p in problems() for g in GRADES]

    def build(job: tuple[str, str]) -> tuple[str, str, int, float]:
        p, g = job
        t0 = time.monotonic()
        cmd = [
            sys.executable,
            "-m",
            "agent.cli",
            "eval",
            str(LIBRARY / p / f"{g}.py"),
            "--problem",
            str(GPU_LEVEL1 / f"{p}.py"),
            "--platform",
            "cuda",
            "--upto",
            "build",
        ]
        rc = subprocess.run(cmd, env=_env(args), cwd=ROOT, capture_output=True, text=True).returncode
        return p, g, rc, time.monotonic() - t0

    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(build, jobs))
    bad = [f"{p}/{g} (exit {rc})" for p, g, rc, _ in done if rc != 0]
    print(
        f"prebuild: {len(done)} kernels in {time.monotonic() - t0:.0f} s; failed: {', '.join(bad) or 'none'}",
        flush=True,
    )
    return not bad


def run_mode(mode: str, out: Path, args) -> int:
    data = Path(tempfile.mkdtemp(prefix="hipgen-search-"))
    (data / "level1").mkdir()
    for name in problems():
        shutil.copy(GPU_LEVEL1 / f"{name}.py", data / "level1" / f"{name}.py")
    cmd = [
        sys.executable,
        "-m",
        "agent.cli",
        "solve",
        "--dataset",
        str(data),
        "--level1",
        "--samples",
        str(args.samples),
        "--concurrency",
        str(args.concurrency or len(problems())),
        "--max-attempts",
        str(args.max_attempts),
        "--max-turns",
        str(4 * args.max_attempts + 6),
        "--until",
        "1000",
        "--model",
        "tests.benchmarks.search_engineer:factory",
        "--search",
        mode,
        "--out",
        str(out / mode),
        "--no-progress",
    ]
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    rc = subprocess.run(cmd, env=_env(args), cwd=ROOT).returncode
    print(f"{mode}: {time.monotonic() - t0:.0f} s wall", flush=True)
    return rc


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def problem_figures(folder: Path) -> dict:
    """Best speedup, model calls until the library's best kernel was first timed (across samples in the
    order they ran), calls and tokens in all."""
    from tests.benchmarks.search_engineer import grade_of, library

    lib = library(folder.name)
    results = [json.loads(f.read_text()) for f in sorted(folder.glob("result_*.json"))]
    best = max((r.get("speedup") or 0.0 for r in results if r.get("correct")), default=0.0)
    fast_at, calls, tokens = None, 0, 0
    for trace in sorted(folder.glob("trace_*.jsonl"), key=lambda p: int(p.stem.split("_")[1])):
        for rec in _records(trace):
            if rec.get("type") != "message":
                continue
            msg = rec["message"]
            if msg["type"] == "ai":
                calls += 1
                tokens += int((msg["data"].get("usage_metadata") or {}).get("total_tokens", 0) or 0)
                for c in msg["data"].get("tool_calls") or []:
                    if c["name"] == "write_kernel" and grade_of(c["args"].get("source", ""), lib) == "fast":
                        fast_at = fast_at or calls
    return {"best": best, "calls_to_best": fast_at, "calls": calls, "tokens": tokens}


def lane_seconds(folder: Path) -> tuple[float, float, int]:
    """(lane seconds evaluating, lane seconds reading counters, counter passes) from lanes.jsonl."""
    path = folder / "lanes.jsonl"
    recs = _records(path) if path.exists() else []
    counters = [r for r in recs if "replay" in r["phases"]]
    total = sum(r["end"] - r["start"] for r in recs)
    spent = sum(r["end"] - r["start"] for r in counters)
    return total - spent, spent, len(counters)


def report(out: Path) -> None:
    rows = {m: {p.name: problem_figures(p) for p in sorted((out / m).iterdir()) if p.is_dir()} for m in MODES}
    print()
    print("| problem | " + " | ".join(f"{m} best | {m} calls to library best" for m in MODES) + " |")
    print("|---|" + "---|---|" * len(MODES))
    for name in sorted(set().union(*(r.keys() for r in rows.values()))):
        cells = []
        for m in MODES:
            f = rows[m].get(name)
            cells += [f"{f['best']:.3f}x", str(f["calls_to_best"] or "never")] if f else ["-", "-"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for m in MODES:
        calls = sum(f["calls"] for f in rows[m].values())
        tokens = sum(f["tokens"] for f in rows[m].values())
        reached = sum(1 for f in rows[m].values() if f["calls_to_best"])
        ev, ct, n = lane_seconds(out / m)
        print(
            f"{m}: {calls} model calls, {tokens} tokens, library best reached on {reached}/{len(rows[m])} problems; "
            f"lane {ev:.0f} s evaluating, {ct:.0f} s in {n} counter passes"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--max-attempts", type=int, default=2)
    ap.add_argument("--concurrency", type=int, help="threads at once (default: one per problem)")
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--report-only", type=Path)
    args = ap.parse_args()
    if args.report_only:
        report(args.report_only)
        return 0
    if args.out is None or (args.out.exists() and any(args.out.iterdir())):
        print("search_quality: give --out a new or empty folder.", file=sys.stderr)
        return 2
    if not prebuild(args):
        print("search_quality: a library kernel did not build; see `agent eval` on it.", file=sys.stderr)
        return 1
    for mode in MODES:
        if run_mode(mode, args.out, args) != 0:
            print(f"search_quality: the {mode} run failed.", file=sys.stderr)
            return 1
    report(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
