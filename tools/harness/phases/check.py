"""Phase check: the candidate against the reference on fresh inputs from secret seeds, on poisoned
memory, sometimes first, once more with other bytes in free memory; inputs must come back unmodified."""

from __future__ import annotations

import time

from tools.harness.results import Status, TrialCheck
from tools.harness.session import PhaseFailure, Session


def check(s: Session) -> dict:
    from tools.harness.correctness import tolerance_for

    torch = s.torch
    s.steps = {}
    t0 = time.perf_counter()
    with s.step("device"):
        s.sync()  # the first device call creates the context
    with s.step("models"):
        ref, _ = s.models()
    seeds = s.req.check_seeds
    # Every trial has fresh inputs; the candidate goes first on odd ones; the last trial repeats the
    # first one's inputs with other bytes in free memory, so reads of memory nobody wrote show up.
    plan = [(seed, i % 2 == 1, 0xFF) for i, seed in enumerate(seeds)] + ([(seeds[0], True, 0x3F)] if seeds else [])
    trials = []
    for i, (seed, cand_first, byte) in enumerate(plan):
        result = _trial(s, ref, seed, cand_first, byte)
        result.trial, result.candidate_first = i, cand_first
        if i == len(seeds) and not result.passed:
            result.problem = (
                "different results for the same inputs as trial 1 once free memory held other "
                f"bytes: the kernel reads memory it never wrote (uninitialised scratch, shared "
                f"memory or out of bounds); {result.problem}"
            )
        trials.append(result.model_dump())
        if not result.passed:
            break
    passed = bool(trials) and all(t["passed"] for t in trials) and len(trials) == len(plan)
    info = {
        "passed": passed,
        "trials": trials,
        "seconds": time.perf_counter() - t0,
        "steps": {k: round(v, 4) for k, v in s.steps.items()},
        "flops": s.flops,
    }
    info["atol"], info["rtol"] = tolerance_for(getattr(torch, s.dtype, torch.float32), s.req.tolerance)
    if not passed:
        bad = next(t for t in trials if not t["passed"])
        order = "candidate ran first" if bad["candidate_first"] else "reference ran first"
        raise PhaseFailure(
            Status.incorrect, f"trial {bad['trial'] + 1}/{len(plan)} ({order}): {bad['problem']}", check=info
        )
    return info


def _trial(s: Session, ref, seed: int, cand_first: bool, byte: int) -> TrialCheck:
    from tools.harness.correctness import compare, modified_inputs, quick_check, snapshot
    from tools.harness.speed_of_light import tensor_bytes

    with s.step("inputs"):
        inputs = s.make_inputs(seed)
        pristine = snapshot(inputs)
        cand_in = s.clone(inputs)
    with s.torch.no_grad():
        if cand_first:
            out_c = s.run_candidate(cand_in, tensor_bytes(inputs) * 2 + (64 << 20), byte)
            with s.step("reference"):
                out_r = ref(*s.clone(inputs))
                s.sync()
        else:
            with s.step("reference"):
                out_r = s.count_work(ref, inputs) if s.flops is None else ref(*s.clone(inputs))
                s.sync()
            out_c = s.run_candidate(cand_in, tensor_bytes(out_r) * 4 + (64 << 20), byte, out_r)
    with s.step("compare"):
        # a pass needs only the quick verdict's figures (largest error, relative L2 error); compare()
        # decides the rest, and says where and by how much it fails
        result = quick_check(out_c, out_r, s.req.tolerance) or compare(out_c, out_r, s.req.tolerance)
        changed = modified_inputs(pristine, cand_in)
    if changed and result.passed:
        result.passed = False
        result.problem = f"input(s) {changed} were modified in place; inputs are read-only"
    return result
