"""One kernel evaluated again and again, each time in a fresh worker (as a batch run does), to show how
far its timing moves from one evaluation to the next. The scripted batch runs gave the same kernel
speedups 9-27% apart on an H200 in some runs and not in others; this isolates that from the batch.
Prints a table. Run on a GPU machine:
  python -m tests.benchmarks.timing_repeat CACHE_DIR [--problem 33_Row_L2_Normalize] [--samples 0,1] [--repeats 6]"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from tests.scripted_solver import vary

ROOT = Path(__file__).resolve().parents[2]
PROBLEMS = json.loads((ROOT / "tests" / "benchmarks" / "gpu_problems.json").read_text())["problems"]
GPU_LEVEL1 = ROOT / "tests" / "data" / "gpu" / "level1"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument("--problem", default="33_Row_L2_Normalize")
    ap.add_argument("--samples", default="0,1", help="the scripted solver's variants (block sizes) to time")
    ap.add_argument("--repeats", type=int, default=6)
    args = ap.parse_args()

    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    fixture = next(p["fixture"] for p in PROBLEMS if p["problem"] == args.problem)
    problem = Problem.from_file(GPU_LEVEL1 / f"{args.problem}.py", level=1)
    source = (ROOT / "tests" / "kernels" / fixture).read_text()
    ev = Evaluator(EvalConfig(platform="cuda", cache_dir=args.cache, gpus="0"))
    rows = []
    try:
        for i in range(args.repeats):
            for sample in (int(s) for s in args.samples.split(",")):
                # a distinct source per evaluation (no remembered result), one native build for all
                r = ev.evaluate(problem, vary(source, sample) + f"\n# repeat {i}\n", "profile")
                if r.status.value != "ok" or r.timing is None:
                    raise SystemExit(f"{args.problem} sample {sample}: {r.status.value}: {r.reason}")
                t = r.timing
                rows.append(
                    (
                        sample,
                        i,
                        t.reference.median_ms,
                        t.candidate.median_ms,
                        t.speedup,
                        (t.candidate.q75_ms - t.candidate.q25_ms) / t.candidate.median_ms,
                    )
                )
                print(
                    f"sample {sample} repeat {i}: ref {rows[-1][2]:.4f} ms, cand {rows[-1][3]:.4f} ms, "
                    f"speedup {rows[-1][4]:.3f}x, IQR/median {100 * rows[-1][5]:.1f}%",
                    flush=True,
                )
    finally:
        ev.close()
    print(
        f"\n{args.problem} ({fixture}) on {ev.device_info().get('device_name')}, {args.repeats} fresh workers per sample"
    )
    print(
        f"{'sample':>6} {'ref ms med':>10} {'cand ms min':>11} {'cand ms max':>11} {'cand spread':>11} "
        f"{'speedup min':>11} {'speedup max':>11}"
    )
    for sample in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == sample]
        cand = [r[3] for r in mine]
        sp = [r[4] for r in mine]
        print(
            f"{sample:>6} {statistics.median(r[2] for r in mine):>10.4f} {min(cand):>11.4f} {max(cand):>11.4f} "
            f"{100 * (max(cand) / min(cand) - 1):>10.1f}% {min(sp):>11.3f} {max(sp):>11.3f}"
        )


if __name__ == "__main__":
    main()
