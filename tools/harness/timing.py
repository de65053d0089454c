"""Interleaved timing of reference and candidate: warmed up, cold cache each trial, fresh inputs every
trial (so replayed outputs cannot match), every timed output checked, median and quartiles. The timed
pass stops once both medians are known to 1% (their confidence intervals), or at its time budget; or,
where a fresh worker will time the candidate again once it reaches a speedup (`decide_above`), as soon
as its speedup is known to be above that: this figure is then replaced, so it need only decide."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tools.harness.results import Timing


def summarise(samples: list[float]) -> Timing:
    s = sorted(samples)
    q = statistics.quantiles(s, n=4) if len(s) >= 2 else [s[0], s[0], s[0]]
    return Timing(
        median_ms=statistics.median(s),
        min_ms=s[0],
        max_ms=s[-1],
        q25_ms=q[0],
        q75_ms=q[2],
        trials=len(s),
        samples_ms=[round(x, 6) for x in samples],
    )


@contextmanager
def timed_step(steps: dict[str, float], name: str) -> Iterator[None]:
    """Add the seconds the block takes to steps[name]: where a phase's or a pass's time goes."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - t0


@dataclass
class TimingRun:
    ref_ms: list[float] = field(default_factory=list)
    cand_ms: list[float] = field(default_factory=list)
    ref_gap_ms: list[float] = field(default_factory=list)  # host time minus device time, per call
    cand_gap_ms: list[float] = field(default_factory=list)
    mismatch: str | None = None
    stopped_by: str = "trials"  # or "settled", "deadline", "above target"
    steps: dict[str, float] = field(default_factory=dict)  # host seconds per step: where the pass's time went

    def step(self, name: str):
        return timed_step(self.steps, name)

    def excess_gap_ms(self) -> float:
        """How much longer than the reference's the candidate's calls kept the device busy after its
        stream was done: work on other streams, or deferred."""
        if not self.cand_gap_ms or not self.ref_gap_ms:
            return 0.0
        return statistics.median(self.cand_gap_ms) - statistics.median(self.ref_gap_ms)


GUARD_TRIALS = 5
MAX_BATCH = 32


def interleaved(
    platform,
    ref: Callable,
    cand: Callable,
    make_inputs: Callable[[int], tuple[list, list]],
    verify: Callable[[object, object], str | None],
    *,
    warmup: int,
    budget_s: float,
    min_trials: int,
    max_trials: int,
    decide_above: float | None = None,
) -> TimingRun:
    """ref and cand take an input list. make_inputs(i) gives trial i's (reference inputs, candidate
    inputs): same values, separate tensors. Trials alternate which side goes first. decide_above: stop
    once the speedup is surely at least this (a fresh worker times such a candidate again).

    Two passes. The guard times single calls against a device-wide sync, which exposes work left on
    other streams; the timed pass queues batches of calls with fresh inputs each and reads device
    time per call, as do_bench does, so host launch gaps and idle clocks stay out of the figure."""
    flush = platform.make_flush()
    run = TimingRun()
    with run.step("warmup"):
        ref_in, cand_in = make_inputs(0)
        for _ in range(warmup):
            for fn, x in ((ref, ref_in), (cand, cand_in)):
                platform.time_call(lambda fn=fn, x=x: fn(x), flush)
        del ref_in, cand_in
    with run.step("guard"):
        guard = _guard_pass(platform, ref, cand, make_inputs, verify, flush, run)
    if guard is None:
        return run
    est, trial_bytes = guard
    trials = int(min(max_trials, max(min_trials, budget_s * 1e3 / max(est, 1e-3))))
    batch = max(1, min(MAX_BATCH, int(0.3 * platform.free_memory_bytes()) // max(trial_bytes, 1)))
    monotonic = platform.timers.monotonic
    deadline = monotonic() + 2 * budget_s + 10 * est / 1e3
    done = 0
    first_look = DECIDE_TRIALS if decide_above is not None else min_trials
    while done < trials:
        k = min(batch, trials - done)
        if done < first_look:  # the first batch ends where the stop rule can first say stop
            k = min(k, first_look - done)
        if not _timed_batch(platform, ref, cand, make_inputs, verify, flush, run, range(done, done + k)):
            return run
        done += k
        stop = _stop_rule(run, done, min_trials, decide_above)
        if stop:
            run.stopped_by = stop
            break
        if done >= min_trials and monotonic() > deadline:
            run.stopped_by = "deadline"
            break
    return run


def _timed_batch(platform, ref, cand, make_inputs, verify, flush, run: TimingRun, trials: range) -> bool:
    """One queued batch of the timed pass, its samples added to run; False with run.mismatch set where
    an output does not match."""
    with run.step("inputs"):
        sets = [make_inputs(GUARD_TRIALS + 1 + i) for i in trials]
    order = [side for i, (r_in, c_in) in zip(trials, sets, strict=True) for side in _sides(ref, cand, r_in, c_in, i)]
    with run.step("timed"):
        timed = platform.time_batch([lambda fn=fn, x=x: fn(x) for _, fn, x in order], flush)
    per_trial: list[dict] = [{} for _ in sets]
    for n, ((name, _, _), (ms, out)) in enumerate(zip(order, timed, strict=False)):
        per_trial[n // 2][name] = out
        (run.ref_ms if name == "ref" else run.cand_ms).append(ms)
    del timed, order, sets
    with run.step("verify"):
        for i, outs in zip(trials, per_trial, strict=True):
            problem = verify(outs["cand"], outs["ref"])
            if problem:
                run.mismatch = f"timed trial {i + 1}: {problem}"
                return False
    return True


# The timed pass stops once both medians are known to within this fraction (95% confidence).
SETTLED = 0.01
# Pairs before the speedup may be called surely above a target: with 5 the intervals are the extremes.
DECIDE_TRIALS = 5


def _stop_rule(run: TimingRun, done: int, min_trials: int, decide_above: float | None) -> str | None:
    if done >= min_trials and settled(run.ref_ms) and settled(run.cand_ms):
        return "settled"
    if decide_above is not None and done >= DECIDE_TRIALS:
        # the reference's fastest median against the candidate's slowest, both bounds at 95%
        ref_lo, _ = median_interval(run.ref_ms)
        _, cand_hi = median_interval(run.cand_ms)
        if cand_hi > 0 and ref_lo / cand_hi >= decide_above:
            return "above target"
    return None


def median_interval(samples: list[float]) -> tuple[float, float]:
    """A distribution-free 95% confidence interval of the median: the order statistics at ranks
    n/2 -+ 0.98 sqrt(n) (the binomial's normal approximation), clamped to the samples."""
    s, n = sorted(samples), len(samples)
    half = 0.98 * math.sqrt(n)
    lo = max(0, math.floor(n / 2 - half) - 1)
    hi = min(n - 1, math.ceil(n / 2 + half))
    return s[lo], s[hi]


def settled(samples: list[float], rel: float = SETTLED) -> bool:
    """Whether the median's confidence interval is within rel of it on either side."""
    if len(samples) < 2:
        return False
    lo, hi = median_interval(samples)
    mid = statistics.median(samples)
    return mid > 0 and (hi - lo) <= 2 * rel * mid


def _guard_pass(
    platform,
    ref: Callable,
    cand: Callable,
    make_inputs: Callable[[int], tuple[list, list]],
    verify: Callable[[object, object], str | None],
    flush,
    run: TimingRun,
) -> tuple[float, int] | None:
    """GUARD_TRIALS single calls per side against a device-wide sync, recording host-minus-device gaps in
    run. Returns (slowest device ms, largest trial bytes), or None with run.mismatch set on a mismatch."""
    from tools.harness.speed_of_light import tensor_bytes

    est, trial_bytes = 0.0, 0
    held = None
    for g in range(GUARD_TRIALS):
        # The guard keeps the candidate's input buffers and refills them with new values, so a result
        # cache keyed by address hits on every trial after the first, and its stale output fails.
        ref_in, fresh = make_inputs(g + 1)
        if held is None:
            held = fresh
        else:
            _refill(held, fresh)
        cand_in = held
        outs = {}
        for name, fn, x in _sides(ref, cand, ref_in, cand_in, g):
            dev_ms, host_ms, outs[name] = platform.time_call(lambda fn=fn, x=x: fn(x), flush)
            (run.ref_gap_ms if name == "ref" else run.cand_gap_ms).append(max(0.0, host_ms - dev_ms))
            est = max(est, dev_ms)
        trial_bytes = max(trial_bytes, tensor_bytes([ref_in, cand_in, outs["ref"], outs["cand"]]))
        problem = verify(outs["cand"], outs["ref"])
        del outs, ref_in, cand_in, fresh
        if problem:
            run.mismatch = f"guard trial {g + 1}: {problem}"
            return None
    return est, trial_bytes


def _sides(ref, cand, ref_in, cand_in, i: int) -> list[tuple[str, Callable, list]]:
    sides = [("ref", ref, ref_in), ("cand", cand, cand_in)]
    return sides if i % 2 == 0 else sides[::-1]


def _refill(held: list, fresh: list) -> None:
    import torch

    for old, new in zip(held, fresh, strict=False):
        if isinstance(old, torch.Tensor) and old is not new:
            old.copy_(new)
