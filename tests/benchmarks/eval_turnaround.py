"""Evaluation turnaround: how long one candidate waits for its verdict, cold (empty build cache) and
warm (the same cache, a source that differs from the cold one only by a comment, so that no cached
result answers but the native build can be reused). The problem is a level-1 ReLU of KernelBench's
size (4096 x 393216 fp32, 6 GiB in and out: tests/benchmarks/data/19_Big_ReLU_KB_Size.py), the
candidate tests/kernels/cuda/good/relu.py, the evaluation `profile` (build, check, profile, time).

Rows: cold (fresh cache, fresh Evaluator), warm (same Evaluator, as a later attempt of an agent run
sees it), warm-new (a fresh Evaluator on the same cache: only what is on disk helps), cold-ext.h (the
same candidate with <torch/extension.h> instead of <torch/types.h> in its CUDA unit, as most models write
it, on a fresh Evaluator and a second empty cache: what that one include costs nvcc). Per-phase
seconds come from the EvalResult (BuildInfo/CheckInfo/ProfileInfo/TimingInfo.seconds, wall_seconds);
`setup s` is the wait for worker processes to start and import (a spare worker makes it small),
`other s` the rest of the wall time (the device probe, the reference's load, process exit). `builds`
counts the native build folders in the cache after the run: a warm row that adds one rebuilt.

Run on a GPU machine: python -m tests.benchmarks.eval_turnaround [CACHE_DIR] [--problem FILE]
(CACHE_DIR: where the fresh cache folder is made and kept; default a temporary folder, removed after.
--problem: another ReLU problem file, e.g. tests/data/gpu/level1/19_Big_ReLU.py, 1 GiB.)"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = ROOT / "tests" / "benchmarks" / "data" / "19_Big_ReLU_KB_Size.py"
KERNEL = ROOT / "tests" / "kernels" / "cuda" / "good" / "relu.py"
TARGETS = {"cold": 60.0, "warm": 10.0}  # seconds of wall time, per run
COLUMNS = [
    "run",
    "build s",
    "cached",
    "setup s",
    "check s",
    "profile s",
    "time s",
    "other s",
    "total wall s",
    "outer s",
    "builds",
    "status",
    "speedup",
]


def _secs(info) -> float | None:
    return None if info is None else float(info.seconds)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def _native_builds(cache: Path) -> int:
    ext = cache / "extensions"
    return sum(1 for p in ext.iterdir() if p.is_dir()) if ext.is_dir() else 0


def measure(name: str, evaluator, problem, source: str, cache: Path) -> dict:
    t0 = time.perf_counter()
    r = evaluator.evaluate(problem, source, "profile")
    outer = time.perf_counter() - t0
    phases = [_secs(r.build), _secs(r.check), _secs(r.profile), _secs(r.timing)]
    other = r.wall_seconds - sum(p for p in phases if p is not None) - r.setup_seconds
    return {
        "run": name,
        "build s": phases[0],
        "cached": None if r.build is None else ("yes" if r.build.cached else "no"),
        "setup s": r.setup_seconds,
        "check s": phases[1],
        "profile s": phases[2],
        "time s": phases[3],
        "other s": other,
        "total wall s": r.wall_seconds,
        "outer s": outer,
        "builds": _native_builds(cache),
        "status": r.status.value,
        "speedup": None if r.speedup is None else f"{r.speedup:.3f}x",
        "_result": r,
    }


def extension_h_variant(source: str) -> str:
    heavy = source.replace("#include <torch/types.h>", "#include <torch/extension.h>")
    if heavy == source:
        raise SystemExit(f"{KERNEL.name} no longer includes <torch/types.h>; update extension_h_variant")
    return heavy


def render(rows: list[dict]) -> str:
    cells = [COLUMNS] + [[_fmt(r[c]) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.eval_turnaround",
        description="Cold and warm evaluation turnaround of one CUDA candidate on a "
        "KernelBench-size ReLU (6 GiB fp32). Needs a CUDA GPU.",
    )
    ap.add_argument(
        "cache_dir",
        nargs="?",
        type=Path,
        help="folder in which a fresh, empty build cache is made (and kept); "
        "default: a temporary folder, removed afterwards",
    )
    ap.add_argument(
        "--problem",
        type=Path,
        default=PROBLEM,
        help="another problem file solved by the relu fixture (default: the KernelBench-size ReLU)",
    )
    ap.add_argument(
        "--also",
        type=Path,
        action="append",
        default=[],
        help="a further ReLU problem measured warm on the same cache (repeatable)",
    )
    ap.add_argument(
        "--think",
        type=float,
        default=5.0,
        help="seconds between an evaluation and the next on the same evaluator: the model's turn in "
        "an agent run, when the next spare worker starts (default 5)",
    )
    args = ap.parse_args(argv)
    problem_file = args.problem.expanduser().resolve()

    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    if args.cache_dir is not None:
        cache = args.cache_dir.expanduser().resolve() / f"turnaround-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        cache.mkdir(parents=True)
        keep = True
    else:
        cache = Path(tempfile.mkdtemp(prefix="hipgen-turnaround-"))
        keep = False
    try:
        source = KERNEL.read_text()
        config = EvalConfig(platform="cuda", cache_dir=cache, time_budget_s=1.0)
        ev = Evaluator(config)
        rows = []
        for n, path in enumerate([problem_file] + [p.expanduser().resolve() for p in args.also]):
            problem = Problem.from_file(path, level=1)
            tag = "" if n == 0 else f" {path.stem[:18]}"
            if n == 0:
                rows.append(measure("cold", ev, problem, source, cache))
            time.sleep(args.think)
            rows.append(measure("warm" + tag, ev, problem, source + f"\n# turnaround: warm run {n}\n", cache))
            fresh = Evaluator(config)
            rows.append(
                measure(
                    "warm-new" + tag, fresh, problem, source + f"\n# turnaround: warm run {n}, new Evaluator\n", cache
                )
            )
            fresh.close()
        ev.close()
        heavy = Evaluator(config.model_copy(update={"cache_dir": cache / "ext-h"}))
        rows.append(
            measure(
                "cold-ext.h",
                heavy,
                Problem.from_file(problem_file, level=1),
                extension_h_variant(source),
                cache / "ext-h",
            )
        )
        heavy.close()
    finally:
        if not keep:
            shutil.rmtree(cache, ignore_errors=True)

    r0 = rows[0]["_result"]
    shown = problem_file.relative_to(ROOT) if problem_file.is_relative_to(ROOT) else problem_file
    print(
        f"eval turnaround: {KERNEL.relative_to(ROOT)} on {shown}"
        f"{' (4096 x 393216 fp32)' if problem_file == PROBLEM else ''}, upto=profile, time_budget_s=1.0, "
        f"{args.think:g} s between evaluations, device {r0.device or '?'}"
    )
    print(f"cache: {cache}" + ("" if keep else " (removed)"))
    print(render(rows))
    print()
    for row in rows:
        r = row["_result"]
        if r.check is not None and r.check.steps:
            print(f"{row['run']} check steps: " + ", ".join(f"{k} {v:.2f}" for k, v in r.check.steps.items()))
    print()
    ok = True
    for row in rows:
        r = row["_result"]
        if r.status.value != "ok":
            ok = False
            print(f"{row['run']}: {r.status.value}: {r.reason[:300]}")
    for name, limit in TARGETS.items():
        row = next(r for r in rows if r["run"] == name)
        wall = row["total wall s"]
        print(f"target {name}: {wall:.1f} s wall, target <= {limit:.0f} s: {'MET' if wall <= limit else 'MISSED'}")
    if rows[1]["builds"] > rows[0]["builds"]:
        print(
            "note: the warm run made a native build of its own (the build cache is keyed by more than the "
            "extension's C++/CUDA sources)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
