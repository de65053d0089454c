"""The same kernels timed on each GPU lane: do the lanes agree? Prints a table.
Run on a machine with the GPUs: python -m tests.benchmarks.lane_agreement --gpus 0,1 [--cache DIR]"""

import argparse
import tempfile
from pathlib import Path

from tests.benchmarks.timing_agreement import CASES, GPU, KERNELS


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gpus", default="0,1", help="device indices, e.g. 0,1")
    ap.add_argument("--cache", type=Path, default=None, help="build cache to reuse")
    args = ap.parse_args()
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    gpus = [int(g) for g in args.gpus.split(",")]
    cache = args.cache or Path(tempfile.mkdtemp(prefix="hipgen-lanes-"))
    rows = []
    for kernel, problem in CASES:
        source, prob = (KERNELS / kernel).read_text(), Problem.from_file(GPU / problem)
        times = []
        for g in gpus:
            # one evaluator per GPU: its result cache must not answer for another device
            r = Evaluator(EvalConfig(platform="cuda", cache_dir=cache, gpus=str(g))).evaluate(prob, source, "profile")
            assert r.status.value == "ok", f"{kernel} on GPU {g}: {r.reason}"
            times.append((r.timing.candidate.median_ms, r.timing.reference.median_ms))
        rows.append((kernel, times))
    head = "".join(f"{'gpu' + str(g) + ' ms':>12}" for g in gpus)
    print(f"{'kernel':<24}{head}{'spread':>9}{'ref spread':>12}")
    for kernel, times in rows:
        cand = [c for c, _ in times]
        ref = [r for _, r in times]
        spread = 100 * (max(cand) - min(cand)) / min(cand)
        ref_spread = 100 * (max(ref) - min(ref)) / min(ref)
        print(f"{kernel:<24}" + "".join(f"{c:>12.4f}" for c in cand) + f"{spread:>8.1f}%{ref_spread:>11.1f}%")


if __name__ == "__main__":
    main()
