"""Interleaved timing of reference and candidate: warmed up, cold cache each trial, rotating input
copies, median and quartiles."""
from __future__ import annotations

import statistics
import time
from typing import Callable

from tools.results import Timing


def summarise(samples: list[float]) -> Timing:
    s = sorted(samples)
    q = statistics.quantiles(s, n=4) if len(s) >= 2 else [s[0], s[0], s[0]]
    return Timing(median_ms=statistics.median(s), min_ms=s[0], max_ms=s[-1], q25_ms=q[0], q75_ms=q[2], trials=len(s))


def interleaved(platform, ref: Callable, cand: Callable, input_sets: list, *, warmup: int, budget_s: float,
                min_trials: int, max_trials: int) -> tuple[Timing, Timing]:
    """ref and cand take an input list. Trials alternate which side goes first so clock drift and
    thermal state fall on both equally."""
    flush = platform.make_flush()
    for _ in range(warmup):
        for fn in (ref, cand):
            platform.time_ms(lambda: fn(input_sets[0]), flush)
    est = max(platform.time_ms(lambda: ref(input_sets[0]), flush), platform.time_ms(lambda: cand(input_sets[0]), flush))
    trials = int(min(max_trials, max(min_trials, budget_s * 1e3 / max(est, 1e-3))))
    ref_ms, cand_ms = [], []
    deadline = time.monotonic() + 4 * budget_s + 10 * est / 1e3
    for i in range(trials):
        inputs = input_sets[i % len(input_sets)]
        order = [(ref, ref_ms), (cand, cand_ms)] if i % 2 == 0 else [(cand, cand_ms), (ref, ref_ms)]
        for fn, bucket in order:
            bucket.append(platform.time_ms(lambda: fn(inputs), flush))
        if i + 1 >= min_trials and time.monotonic() > deadline:
            break
    return summarise(ref_ms), summarise(cand_ms)
