"""Phase robust: the candidate on inputs the benchmark never draws (tools.harness.robustness), after
its benchmark verdict is in. It never fails the candidate: a trial it gets wrong marks it fragile.
Each trial is announced before it runs, so a crash or a hang still names the input that caused it."""

from __future__ import annotations

import time

from tools.harness.session import PhaseFailure, Session, exc_line


def robust(s: Session) -> dict:
    from tools.harness import robustness
    from tools.harness.speed_of_light import main_dtype, tensor_bytes

    torch = s.torch
    t0 = time.perf_counter()
    s.steps = {}
    ref, cand = s.models()
    gen = torch.Generator(device=s.device)
    gen.manual_seed(s.req.timing_seed + 104729)
    with s.step("inputs"):
        base = s.make_inputs(s.req.timing_seed + 104729)
    trials = []
    with torch.no_grad():
        base_out = ref(*s.clone(base))
        base_scale = robustness.scale(base_out)
        dtype = getattr(torch, main_dtype([base_out] if isinstance(base_out, torch.Tensor) else base))
        del base_out
        for variant, inputs in robustness.plan(base, gen):
            desc = f"{variant.describe}, inputs {robustness.shapes(inputs)}"
            s.note(trial=variant.name, describe=desc)
            trial = {"name": variant.name, "describe": desc, "passed": True, "counted": True, "problem": ""}
            try:
                with s.step("reference"):
                    out_r = ref(*s.clone(inputs))
                    s.sync()
            except Exception as e:  # noqa: BLE001 - the reference does not take these inputs
                trial.update(counted=False, problem=f"the reference does not accept them ({exc_line(e)})")
                trials.append(trial)
                continue
            try:
                # on poisoned memory, as in the check: a tail it never writes must not inherit the
                # values a freed copy of the inputs left behind
                out_c = s.run_candidate(s.clone(inputs), tensor_bytes(out_r) * 4 + (64 << 20), 0xFF, out_r)
            except PhaseFailure as e:
                trial.update(passed=False, problem=e.reason)
                trials.append(trial)
                continue
            with s.step("judge"):
                passed, problem = robustness.judge(out_c, out_r, dtype, base_scale, s.req.tolerance)
            if passed is False and variant.oracle:
                # the reference's own rounding error only widens the bound: its float64 rerun (70 ms on
                # a 6 GB input) is needed only where the plain bound fails
                with s.step("rounding"):
                    rounding = robustness.rounding_error(ref, inputs, out_r)
                if rounding > 0:
                    with s.step("judge"):
                        passed, problem = robustness.judge(out_c, out_r, dtype, base_scale, s.req.tolerance, rounding)
            trial.update(passed=passed is not False, counted=passed is not None, problem=problem)
            trials.append(trial)
            del out_r, out_c, inputs
    steps = {k: round(v, 4) for k, v in s.steps.items()}
    return {"trials": trials, "seconds": time.perf_counter() - t0, "steps": steps}
