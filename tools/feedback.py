"""Tool results as the model reads them: the verdict first, then the details it can act on."""

from __future__ import annotations

from tools.harness.results import EvalResult, Status
from tools.platforms import platform_class


def _fmt_ms(x: float) -> str:
    return f"{x:.4g} ms"


def build_text(r: EvalResult) -> str:
    if r.status == Status.static_error:
        return "REJECTED by the source rules:\n" + "\n".join(f"- {v}" for v in r.violations)
    b = r.build
    if r.status in (Status.build_error, Status.timeout) and (b is None or not b.ok):
        return f"BUILD FAILED: {r.reason}\n" + (b.errors if b and b.errors else r.log_tail[-1500:]) + _notes(b)
    if b is None or not b.ok:
        return f"FAILED ({r.status.value}): {r.reason}\n{r.log_tail[-1200:]}".rstrip()
    return (
        f"BUILD OK in {b.seconds:.1f} s{' (cached)' if b.cached else ''}."
        + (f"\n{b.resources}" if b.resources else "")
        + _notes(b)
    )


def _notes(b) -> str:
    return "".join(f"\nnote: {n}" for n in b.notes) if b is not None else ""


def check_text(r: EvalResult) -> str:
    if r.check is None or r.status in (Status.static_error, Status.build_error) or (r.build and not r.build.ok):
        return build_text(r) if r.status != Status.ok else "not checked"
    c = r.check
    lines = []
    if c.passed and r.status == Status.incorrect:  # --strict: fragile counts as incorrect
        lines.append(f"INCORRECT: {r.reason}")
    elif c.passed:
        worst = max((t.max_abs_err or 0.0) for t in c.trials) if c.trials else 0.0
        l2 = max((t.rel_l2_err or 0.0) for t in c.trials) if c.trials else 0.0
        lines.append(
            f"CORRECT: {len(c.trials)}/{len(c.trials)} trials passed (max abs err {worst:.3g}, "
            f"relative L2 err {l2:.3g})."
        )
    else:
        lines.append(f"INCORRECT: {r.reason}")
        for t in c.trials:
            mark = "pass" if t.passed else "FAIL"
            detail = t.problem or f"max abs err {t.max_abs_err or 0:.3g}"
            lines.append(
                f"- trial {t.trial + 1} ({'candidate first' if t.candidate_first else 'reference first'}): {mark}: {detail}"
            )
    lines += fragile_lines(r)
    return "\n".join(lines)


def fragile_lines(r: EvalResult) -> list[str]:
    """Correct on the benchmark's inputs and wrong on others: said plainly, so the model fixes it."""
    if r.robustness is None or not r.check or not r.check.passed:
        return []
    if not r.fragile:
        tried = [t.name for t in r.robustness.trials if t.counted]
        return [f"robust on inputs beyond the benchmark's ({', '.join(tried)})."] if tried else []
    return [
        f"FRAGILE: correct on the benchmark's inputs, but {r.robustness.failure()}. The benchmark verdict "
        "stands, but the kernel is marked fragile: make it right for every input the reference accepts "
        "(other signs, magnitudes, special values, sizes that are not multiples of your tile or vector width)."
    ]


def status_text(r: EvalResult, upto: str) -> str:
    """The whole answer for a tool that evaluated up to `upto`."""
    if r.status in (Status.static_error, Status.build_error) or (
        r.status == Status.timeout and (r.build is None or not r.build.ok)
    ):
        return build_text(r)
    if r.status == Status.not_run:
        return f"NOT RUN: {r.reason}"
    if r.status in (Status.crashed, Status.timeout) and (r.check is None or not r.check.passed):
        text = f"CRASHED: {r.reason}" if r.status == Status.crashed else f"TIMED OUT: {r.reason}"
        tail = "\n".join(ln for ln in r.log_tail.splitlines()[-15:] if ln.strip())
        return text + (f"\nlast output:\n{tail}" if tail else "")
    if r.status == Status.rejected and (upto != "profile" or r.check is None or not r.check.passed):
        return f"REJECTED: {r.reason}"  # turned away before its time was taken (the timers were touched)
    if upto == "build":
        return build_text(r)
    if upto == "check" or r.check is None or not r.check.passed:
        return check_text(r)
    return profile_text(r)


def profile_text(r: EvalResult) -> str:
    lines = []
    if r.status == Status.rejected:
        lines.append(f"REJECTED: {r.reason}")
    elif r.status != Status.ok:
        lines.append(f"{r.status.value.upper()}: {r.reason}")
    t = r.timing
    if t is not None:
        if r.status == Status.ok:
            lines.append(f"SPEEDUP {t.speedup:.3f}x over the reference (correct on all trials).")
        lines.append(
            f"reference {_fmt_ms(t.reference.median_ms)} median (IQR {t.reference.q25_ms:.4g}-{t.reference.q75_ms:.4g}), "
            f"yours {_fmt_ms(t.candidate.median_ms)} median (IQR {t.candidate.q25_ms:.4g}-{t.candidate.q75_ms:.4g}), "
            f"{t.candidate.trials} interleaved trials"
        )
    p = r.profile
    if p is not None:
        if p.kernels:
            lines.append("where your forward's time goes (3 calls):")
            for k in p.kernels[:8]:
                tag = "yours" if k.own else "library/ATen"
                lines.append(
                    f"- {k.name[:90]}: {k.total_us / max(k.calls, 1):.1f} us/call x{k.calls}, {100 * k.share:.0f}% [{tag}]"
                )
        label = platform_class(r.platform).own_share_label if r.platform else None
        if label:
            lines.append(f"share of {label} in your own kernels: {100 * p.own_share:.0f}%")
        if p.vendor_digest:
            lines.append(p.vendor_digest)
        if p.floor_ms:
            sol = f", yours is at {p.sol_pct:.0f}% of it" if p.sol_pct else ""
            lines.append(f"speed-of-light floor on this device: {_fmt_ms(p.floor_ms)} ({p.bound}-bound){sol}")
    lines += fragile_lines(r)
    return "\n".join(lines) or f"{r.status.value}: {r.reason}"
