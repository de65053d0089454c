"""Phases that measure: profile (what ran, whose it was, the floor), time (interleaved against the
reference), baseline (the reference alone, for read_reference) and replay (for an outside profiler)."""

from __future__ import annotations

import time

from tools.harness.results import Status
from tools.harness.session import PhaseFailure, Session

PROFILED_CALLS = 3


def profile(s: Session) -> dict:
    from tools.harness.profilers.torch_profiler import run_profiled

    torch = s.torch
    ref, cand = s.models()
    inputs = s.make_inputs(s.req.timing_seed)
    t0 = time.perf_counter()
    with torch.no_grad():
        if s.flops is None:  # the check ran in an earlier worker
            s.count_work(ref, inputs)
        cand(*s.clone(inputs))
        s.sync()
        plain, clock = [], s.platform.timers.clock
        for _ in range(3):
            w0 = clock()
            cand(*inputs)
            s.sync()
            plain.append(clock() - w0)
        records = run_profiled(s.platform, lambda: cand(*inputs), repeats=PROFILED_CALLS)
        ref_records = run_profiled(s.platform, lambda: ref(*inputs), repeats=1)
    own_share = s.platform.own_share(records, plain, s.req.kernel_names)
    info = {
        "kernels": [r.model_dump() for r in records[:12]],
        "own_share": own_share,
        "reference_kernels": [r.model_dump() for r in ref_records[:6]],
        "flops": s.flops,
        "min_bytes": s.min_bytes,
        "device_ms": s.platform.device_ms_per_call(records, PROFILED_CALLS),
        "dtype": s.dtype,
    }
    if s.flops is not None:
        info["floor_ms"], info["bound"] = s.floor(s.flops, s.min_bytes, s.dtype)
    info["seconds"] = time.perf_counter() - t0
    # Rejected from what actually executed: the work must be the candidate's own code.
    reason = s.platform.judge_profile(records, own_share, s.req.kernel_names)
    if reason:
        raise PhaseFailure(Status.rejected, reason, profile=info)
    return info


def replay(s: Session) -> dict:
    """The candidate alone, a few calls and nothing else, for an outside profiler to watch."""
    _, cand = s.models()
    inputs = s.make_inputs(s.req.timing_seed)
    t0 = time.perf_counter()
    with s.torch.no_grad():
        for _ in range(3):
            cand(*inputs)
        s.sync()
    return {"calls": 3, "seconds": time.perf_counter() - t0}


def time_candidate(s: Session) -> dict:
    from tools.harness.correctness import compare, matches
    from tools.harness.timing import summarise

    ref, cand = s.models()

    def verify(out_c, out_r):
        # every timed output, so the quick verdict first; compare() decides and explains the rest
        if matches(out_c, out_r, s.req.tolerance):
            return None
        res = compare(out_c, out_r, s.req.tolerance)
        return None if res.passed else res.problem

    t0 = time.perf_counter()
    with s.torch.no_grad():
        run = _interleave(s, ref, cand, verify, s.req.decide_above)
    if run.mismatch:
        raise PhaseFailure(
            Status.rejected,
            f"outputs during timing did not match the reference ({run.mismatch}): "
            f"every timed call gets fresh inputs, so cached or replayed results fail",
        )
    r, c = summarise(run.ref_ms), summarise(run.cand_ms)
    excess = run.excess_gap_ms()
    info = {
        "reference": r.model_dump(),
        "candidate": c.model_dump(),
        "speedup": r.median_ms / c.median_ms,
        "excess_gap_ms": excess,
        "stopped_by": run.stopped_by,
        "steps": {k: round(v, 4) for k, v in run.steps.items()},
        "seconds": time.perf_counter() - t0,
    }
    # 50 us: a fresh worker's host-side sync wake-ups have come out 24 us apart for honest kernels
    if excess > max(0.05, 0.25 * c.median_ms):
        raise PhaseFailure(
            Status.rejected,
            f"work ran outside the current stream: the device stayed busy {excess:.3g} ms per call "
            f"after your stream's last kernel (your stream's time was {c.median_ms:.3g} ms); launch "
            f"on at::cuda::getCurrentCUDAStream() and join any other stream before returning",
            time=info,
        )
    return info


def _interleave(s: Session, ref, cand, verify, decide_above: float | None = None):
    """The timed pass of the time phase: ref against cand on fresh inputs per trial."""
    from tools.harness.timing import interleaved

    def make_inputs(i: int):
        x = s.make_inputs(s.req.timing_seed + 7919 * i)
        return x, s.clone(x)

    return interleaved(
        s.platform,
        lambda x: ref(*x),
        lambda x: cand(*x),
        make_inputs,
        verify,
        warmup=s.req.warmup,
        budget_s=s.req.time_budget_s,
        min_trials=s.req.min_timing_trials,
        max_trials=s.req.max_timing_trials,
        decide_above=decide_above,
    )


def baseline(s: Session) -> dict:
    """The reference alone: its time and its speed-of-light floor, for read_reference. Timed as the time
    phase times it (against itself in the candidate's place), so the model reads the figure its
    speedups are measured against."""
    from tools.harness.meta_inputs import describe
    from tools.harness.speed_of_light import count_flops, main_dtype, tensor_bytes
    from tools.harness.timing import summarise

    torch = s.torch
    ref, _ = s.models()
    inputs = s.make_inputs(s.req.timing_seed)
    no_check = lambda c, r: None
    with torch.no_grad():
        flops, out = count_flops(lambda: ref(*inputs))
        min_bytes = float(tensor_bytes(inputs) + tensor_bytes(out) + sum(tensor_bytes(p) for p in ref.parameters()))
        del out
        # A candidate's timing follows its check, which left the allocator holding memory for the timed
        # batches (CPU heap pages, GPU cached blocks); a fresh worker's first batch pays to grow it, so a
        # first pass does that. Timed once, with fewer trials, that growth was most of the trials: on
        # the CPU 1_Small_ReLU read 0.55-0.65 ms here against 0.19-0.26 ms in the time phase.
        _interleave(s, ref, ref, no_check)
        run = _interleave(s, ref, ref, no_check)
    floor, bound = s.floor(flops, min_bytes, main_dtype(inputs))
    shapes = [describe(x) for x in inputs]
    return {
        "reference": summarise(run.ref_ms).model_dump(),
        "flops": flops,
        "min_bytes": min_bytes,
        "floor_ms": floor,
        "bound": bound,
        "inputs": shapes,
        "device": s.platform.describe(),
    }
