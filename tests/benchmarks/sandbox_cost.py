"""What the sandbox costs: a spare worker's start (until its imports are done) and one evaluation of an
honest kernel whose build is cached (copy in, check, copy out), each with bubblewrap and without it, on
the platform given (cpu works anywhere; cuda needs a GPU). Prints a table of medians.

  python -m tests.benchmarks.sandbox_cost [--platform cpu|cuda] [--repeats 5] [--cache DIR]"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = {
    "cpu": ("tests/data/KernelBench/level1/1_Small_ReLU.py", "tests/kernels/cpu/good/relu.py"),
    "cuda": ("tests/data/gpu/level1/19_Big_ReLU.py", "tests/kernels/cuda/good/relu.py"),
}


def spare_start(cache: Path, jailed: bool) -> float:
    """Seconds from starting a spare worker to its READY line."""
    from tools.harness.jail import Jail
    from tools.harness.sandbox import scrubbed_env
    from tools.harness.spares import discard, start_worker

    home = cache / "home"
    home.mkdir(parents=True, exist_ok=True)
    where = Path(tempfile.mkdtemp(dir=cache))
    t0 = time.monotonic()
    started = start_worker(
        scrubbed_env({}, home), where, where / "worker.log", spare=True, jail=Jail([]) if jailed else None
    )
    assert started.wait_ready(300), (where / "worker.log").read_text()
    seconds = time.monotonic() - t0
    discard(started)
    return seconds


def evaluation(cache: Path, platform: str, jailed: bool, n: int) -> float:
    """Seconds for one check of a candidate whose build is cached (a comment makes each source new)."""
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    problem_file, kernel = CASES[platform]
    ev = Evaluator(EvalConfig(platform=platform, cache_dir=cache, sandbox=jailed, check_trials=3, keep_spares=False))
    try:
        source = (ROOT / kernel).read_text()
        ev.evaluate(Problem.from_file(ROOT / problem_file), source, "build")  # the build, made once
        t0 = time.monotonic()
        r = ev.evaluate(Problem.from_file(ROOT / problem_file), source + f"\n# run {n}\n", "check")
        assert r.correct, r.reason + r.log_tail
        return time.monotonic() - t0
    finally:
        ev.close()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.benchmarks.sandbox_cost", description=__doc__)
    ap.add_argument("--platform", default="cpu", choices=sorted(CASES))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args()
    cache = (args.cache or Path(tempfile.mkdtemp(prefix="hipgen-sandbox-cost-"))).resolve()
    rows = []
    for what, fn in (
        ("spare start to ready", lambda j, n: spare_start(cache, j)),
        ("check, cached build", lambda j, n: evaluation(cache, args.platform, j, n)),
    ):
        fn(True, -1), fn(False, -1)  # warm: builds, page cache
        runs = {j: [fn(j, n) for n in range(args.repeats)] for j in (False, True)}
        rows.append((what, statistics.median(runs[False]), statistics.median(runs[True])))
    print(f"\nsandbox cost on {args.platform}, median of {args.repeats} (seconds)")
    print(f"{'':<24}{'without':>10}{'with':>10}{'added':>10}")
    for what, off, on in rows:
        print(f"{what:<24}{off:>10.3f}{on:>10.3f}{on - off:>+10.3f}")


if __name__ == "__main__":
    main()
