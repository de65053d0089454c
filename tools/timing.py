"""Interleaved timing of reference and candidate: warmed up, cold cache each trial, fresh inputs every
trial (so replayed outputs cannot match), every timed output checked, median and quartiles."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from tools.results import Timing


def summarise(samples: list[float]) -> Timing:
    s = sorted(samples)
    q = statistics.quantiles(s, n=4) if len(s) >= 2 else [s[0], s[0], s[0]]
    return Timing(median_ms=statistics.median(s), min_ms=s[0], max_ms=s[-1], q25_ms=q[0], q75_ms=q[2], trials=len(s))


@dataclass
class TimingRun:
    ref_ms: list[float] = field(default_factory=list)
    cand_ms: list[float] = field(default_factory=list)
    ref_gap_ms: list[float] = field(default_factory=list)    # host time minus device time, per call
    cand_gap_ms: list[float] = field(default_factory=list)
    mismatch: str | None = None

    def excess_gap_ms(self) -> float:
        """How much longer than the reference's the candidate's calls kept the device busy after its
        stream was done: work on other streams, or deferred."""
        if not self.cand_gap_ms or not self.ref_gap_ms:
            return 0.0
        return statistics.median(self.cand_gap_ms) - statistics.median(self.ref_gap_ms)


def interleaved(platform, ref: Callable, cand: Callable, make_inputs: Callable[[int], tuple[list, list]],
                verify: Callable[[object, object], str | None], *, warmup: int, budget_s: float,
                min_trials: int, max_trials: int) -> TimingRun:
    """ref and cand take an input list. make_inputs(i) gives trial i's (reference inputs, candidate
    inputs): same values, separate tensors. Trials alternate which side goes first."""
    flush = platform.make_flush()
    run = TimingRun()
    ref_in, cand_in = make_inputs(0)
    est = 0.0
    for w in range(warmup + 1):
        for fn, x in ((ref, ref_in), (cand, cand_in)):
            ms, _, out = platform.time_call(lambda: fn(x), flush)
            del out
            if w == warmup:
                est = max(est, ms)
    del ref_in, cand_in
    trials = int(min(max_trials, max(min_trials, budget_s * 1e3 / max(est, 1e-3))))
    deadline = time.monotonic() + 4 * budget_s + 10 * est / 1e3
    for i in range(trials):
        ref_in, cand_in = make_inputs(i + 1)
        sides = [("ref", ref, ref_in), ("cand", cand, cand_in)]
        outs = {}
        for name, fn, x in (sides if i % 2 == 0 else sides[::-1]):
            dev_ms, host_ms, outs[name] = platform.time_call(lambda: fn(x), flush)
            (run.ref_ms if name == "ref" else run.cand_ms).append(dev_ms)
            (run.ref_gap_ms if name == "ref" else run.cand_gap_ms).append(max(0.0, host_ms - dev_ms))
        problem = verify(outs["cand"], outs["ref"])
        del outs, ref_in, cand_in
        if problem:
            run.mismatch = f"timed trial {i + 1}: {problem}"
            return run
        if i + 1 >= min_trials and time.monotonic() > deadline:
            break
    return run
