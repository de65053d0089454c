"""Where correctness is decided: one candidate output against one reference output."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from tools.harness.results import TrialCheck

# (atol, rtol); the relative L2 bound equals atol. Per dtype, so lowered precision cannot hide.
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-6, 1e-6),
    torch.float32: (1e-4, 1e-4),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (1e-2, 1e-2),
}


def tolerance_for(dtype: torch.dtype, override: tuple[float, float] | None = None) -> tuple[float, float]:
    return override or TOLERANCES.get(dtype, (1e-4, 1e-4))


def flatten(out) -> list:
    """A model's output (a tensor, or nested lists and tuples of them) as a flat list."""
    if isinstance(out, (list, tuple)):
        return [x for o in out for x in flatten(o)]
    return [out]


def compare(candidate, reference, tol: tuple[float, float] | None = None) -> TrialCheck:
    """Every output tensor must have the reference's exact shape and dtype, no non-finite value the
    reference lacks, pass allclose, and have a relative L2 error under tolerance (so an all-zero or
    constant output cannot pass an elementwise test on a near-zero reference)."""
    cands, refs = flatten(candidate), flatten(reference)
    if len(cands) != len(refs):
        return TrialCheck(
            trial=0,
            passed=False,
            candidate_first=False,
            problem=f"returned {len(cands)} output(s), the reference returns {len(refs)}",
        )
    worst = TrialCheck(trial=0, passed=True, candidate_first=False, max_abs_err=0.0, max_rel_err=0.0, rel_l2_err=0.0)
    for i, (c, r) in enumerate(zip(cands, refs, strict=False)):
        label = f"output {i}" if len(refs) > 1 else "output"
        res = _compare_one(c, r, label, tol)
        if not res.passed:
            return res
        worst.max_abs_err = max(worst.max_abs_err or 0.0, res.max_abs_err or 0.0)
        worst.max_rel_err = max(worst.max_rel_err or 0.0, res.max_rel_err or 0.0)
        worst.rel_l2_err = max(worst.rel_l2_err or 0.0, res.rel_l2_err or 0.0)
        worst.where = worst.where or res.where
    return worst


def _compare_one(c, r, label: str, tol) -> TrialCheck:
    fail = lambda msg, **kw: TrialCheck(trial=0, passed=False, candidate_first=False, problem=f"{label}: {msg}", **kw)
    if not isinstance(r, torch.Tensor):
        if isinstance(c, torch.Tensor) and c.numel() == 1:
            c = c.item()
        if not isinstance(c, (int, float, bool)):
            return fail(f"is {type(c).__name__}, the reference returns {type(r).__name__}")
        ok = math.isclose(float(c), float(r), rel_tol=1e-4, abs_tol=1e-4)
        return TrialCheck(
            trial=0,
            passed=ok,
            candidate_first=False,
            max_abs_err=abs(float(c) - float(r)),
            problem="" if ok else f"{label}: {c} != {r}",
        )
    if not isinstance(c, torch.Tensor):
        return fail(f"is {type(c).__name__}, expected a tensor")
    if tuple(c.shape) != tuple(r.shape):
        return fail(f"shape {tuple(c.shape)}, expected {tuple(r.shape)}")
    if c.dtype != r.dtype:
        return fail(f"dtype {c.dtype}, expected {r.dtype} (precision may not be lowered)")
    if c.device != r.device:
        return fail(f"on {c.device}, expected {r.device}")
    atol, rtol = tolerance_for(r.dtype, tol)
    if r.numel() == 0:
        return TrialCheck(trial=0, passed=True, candidate_first=False)
    st = _error_stats(c.detach().reshape(-1), r.detach().reshape(-1), atol, rtol)
    if st.nonfinite:
        idx = _unravel(st.first_nonfinite, r.shape)
        return fail(
            f"{st.nonfinite} NaN/Inf value(s) where the reference is finite, first at {idx} (fresh memory is "
            f"filled with NaN before your kernel runs, so elements it never writes show up as NaN)"
        )
    where = f"at {_unravel(st.argmax, r.shape)}: got {st.got:.6g}, expected {st.expected:.6g}"
    ref_norm, err_norm = math.sqrt(st.ref_sq), math.sqrt(st.err_sq)
    if ref_norm > 0:
        rel_l2 = err_norm / ref_norm
        l2_ok = rel_l2 <= atol
    else:
        rel_l2 = err_norm
        l2_ok = err_norm <= atol * math.sqrt(r.numel())
    kw = dict(max_abs_err=st.max_abs, max_rel_err=st.max_rel, rel_l2_err=rel_l2, where=where)
    if st.n_bad:
        return fail(f"{st.n_bad} of {r.numel()} elements outside atol={atol:g} rtol={rtol:g}; worst {where}", **kw)
    if not l2_ok:
        return fail(f"relative L2 error {rel_l2:.3g} above {atol:g}", **kw)
    return TrialCheck(trial=0, passed=True, candidate_first=False, **kw)


CHUNK_ELEMENTS = 1 << 27  # 512 MB of fp32 per temporary: a 6 GB output must not need 30 GB of them


@dataclass
class _Stats:
    nonfinite: int = 0  # non-finite where the reference is finite
    first_nonfinite: int = 0
    max_abs: float = -1.0
    argmax: int = 0
    got: float = 0.0
    expected: float = 0.0
    max_rel: float = 0.0
    ref_sq: float = 0.0
    err_sq: float = 0.0
    n_bad: int = 0


def _chunks(c: torch.Tensor, r: torch.Tensor, step: int, dtype: torch.dtype = torch.float32):
    """(offset, candidate chunk, reference chunk) of two flat tensors, in `dtype`."""
    for start in range(0, r.numel(), step):
        yield start, c[start : start + step].to(dtype), r[start : start + step].to(dtype)


def _error_stats(c: torch.Tensor, r: torch.Tensor, atol: float, rtol: float, chunk: int | None = None) -> _Stats:
    """Error statistics of two flat tensors, a chunk at a time, every chunk's figures kept on the device
    until one read at the end: a multi-GB output costs one synchronisation. Where both sides are finite
    (nearly always) one pass of a few reductions does it; a non-finite value anywhere (the largest
    difference is then NaN or Inf) sends it to the pass that sorts out whose it is."""
    step = chunk or CHUNK_ELEMENTS
    parts = []
    for start, cf, rf in _chunks(c, r, step):
        diff = (cf - rf).abs_()
        big, i = torch.max(diff, 0)
        scale = rf.abs()
        ratio_max = (diff / (scale + atol)).max()
        n_bad = (diff > scale.mul_(rtol).add_(atol)).sum()
        parts.append(
            torch.stack(
                [
                    big.double(),
                    i.double() + start,
                    cf[i].double(),
                    rf[i].double(),
                    ratio_max.double(),
                    torch.linalg.vector_norm(rf).double() ** 2,
                    torch.linalg.vector_norm(diff).double() ** 2,
                    n_bad.double(),
                ]
            )
        )
        del diff, scale
    st = _Stats()
    if not parts:
        return st
    rows = torch.stack(parts).cpu().tolist()
    if not all(math.isfinite(row[0]) and math.isfinite(row[5]) and math.isfinite(row[6]) for row in rows):
        return _error_stats_nonfinite(c, r, atol, rtol, step)
    for max_abs, argmax, got, expected, max_rel, ref_sq, err_sq, n_bad in rows:
        if max_abs > st.max_abs:
            st.max_abs, st.argmax, st.got, st.expected = max_abs, int(argmax), got, expected
        st.max_rel = max(st.max_rel, max_rel)
        st.ref_sq += ref_sq
        st.err_sq += err_sq
        st.n_bad += int(n_bad)
    if _near(st.err_sq, st.ref_sq, atol):
        st.ref_sq, st.err_sq = _squares64(c, r, step)
    return st


def _near(err_sq: float, ref_sq: float, atol: float) -> bool:
    """A relative L2 error within float32 rounding of the bound: summed again in float64 to decide."""
    return ref_sq > 0 and abs(math.sqrt(err_sq / ref_sq) - atol) <= 1e-3 * atol


def _squares64(c: torch.Tensor, r: torch.Tensor, step: int) -> tuple[float, float]:
    ref_sq = err_sq = 0.0
    for _, cf, rf in _chunks(c, r, step, torch.float64):
        ref_sq += float(torch.linalg.vector_norm(rf) ** 2)
        err_sq += float(torch.linalg.vector_norm(cf - rf) ** 2)
    return ref_sq, err_sq


def _error_stats_nonfinite(c: torch.Tensor, r: torch.Tensor, atol: float, rtol: float, step: int) -> _Stats:
    """The statistics where some value is NaN or Inf: where both sides are non-finite they count as equal
    (the reference's own NaN); a non-finite candidate value where the reference is finite is counted
    and located."""
    parts = []
    for start, cf, rf in _chunks(c, r, step):
        c_bad, r_bad = ~torch.isfinite(cf), ~torch.isfinite(rf)
        only = c_bad & ~r_bad
        both = c_bad & r_bad
        cf, rf = torch.where(both, 0.0, cf), torch.where(both, 0.0, rf)
        diff = (cf - rf).abs()
        scale = rf.abs()
        i = torch.argmax(diff)
        parts.append(
            torch.stack(
                [
                    only.sum().double(),
                    torch.argmax(only.to(torch.uint8)).double() + start,
                    diff[i].double(),
                    i.double() + start,
                    cf[i].double(),
                    rf[i].double(),
                    (diff / (scale + atol)).max().double(),
                    torch.linalg.vector_norm(rf, dtype=torch.float64) ** 2,
                    torch.linalg.vector_norm(diff, dtype=torch.float64) ** 2,
                    (diff > atol + rtol * scale).sum().double(),
                ]
            )
        )
    st = _Stats()
    rows = torch.stack(parts).cpu().tolist()
    bad_rows = [row for row in rows if row[0] > 0]
    if bad_rows:
        st.nonfinite, st.first_nonfinite = int(sum(row[0] for row in bad_rows)), int(bad_rows[0][1])
        return st
    for _only, _, max_abs, argmax, got, expected, max_rel, ref_sq, err_sq, n_bad in rows:
        if max_abs > st.max_abs:
            st.max_abs, st.argmax, st.got, st.expected = max_abs, int(argmax), got, expected
        st.max_rel = max(st.max_rel, max_rel)
        st.ref_sq += ref_sq
        st.err_sq += err_sq
        st.n_bad += int(n_bad)
    return st


def matches(candidate, reference, tol: tuple[float, float] | None = None) -> bool:
    """A quick verdict for every timed output: True only where compare() would pass."""
    return quick_check(candidate, reference, tol) is not None


def quick_check(candidate, reference, tol: tuple[float, float] | None = None) -> TrialCheck | None:
    """A passing verdict with its largest difference and relative L2 error, only where compare() would
    pass; else None, and the caller asks compare() for the verdict and its reason. Anything unusual (a
    non-finite value, a relative L2 error near its bound, a non-tensor output) answers None. On an NVIDIA
    GPU one fused pass per output reads both sides once (tools.platforms.cuda_compare); elsewhere, per
    output, the largest difference and the two norms in one pass of torch reductions and the elementwise
    bound only where the largest difference exceeds atol. Either way one read of the figures, and none of
    compare()'s kernels loaded (0.1-0.2 s at their first use)."""
    pairs = _quick_pairs(candidate, reference, tol)
    if pairs is None:
        return None
    passed = TrialCheck(trial=0, passed=True, candidate_first=False, max_abs_err=0.0, rel_l2_err=0.0)
    if not pairs:
        return passed
    rows = _fused_figures(pairs)
    if rows is None:
        return _quick_check_torch(pairs, passed)
    for (_, r, atol, _), (max_abs, ref_sq, err_sq, outside, nonfinite) in zip(pairs, rows, strict=False):
        if nonfinite or outside or not _quick_l2(passed, r, atol, max_abs, ref_sq, err_sq):
            return None
    return passed


def _quick_pairs(candidate, reference, tol) -> list | None:
    """(flat candidate, flat reference, atol, rtol) per non-empty output; None where the outputs differ in
    number, type, shape, dtype or device."""
    cands, refs = flatten(candidate), flatten(reference)
    if len(cands) != len(refs):
        return None
    pairs = []
    for c, r in zip(cands, refs, strict=False):
        if not isinstance(r, torch.Tensor) or not isinstance(c, torch.Tensor):
            return None
        if c.shape != r.shape or c.dtype != r.dtype or c.device != r.device:
            return None
        if r.numel():
            pairs.append((c.detach().reshape(-1), r.detach().reshape(-1), *tolerance_for(r.dtype, tol)))
    return pairs


def _fused_figures(pairs) -> list | None:
    if not pairs[0][1].is_cuda or torch.version.hip:
        return None
    from tools.platforms import cuda_compare

    return cuda_compare.figures(pairs)


def _quick_l2(passed: TrialCheck, r: torch.Tensor, atol: float, max_abs: float, ref_sq: float, err_sq: float) -> bool:
    """The relative L2 error surely under its bound (else compare() decides); the figures kept."""
    if not all(math.isfinite(x) for x in (max_abs, ref_sq, err_sq)):
        return False
    ref_norm, err_norm = math.sqrt(ref_sq), math.sqrt(err_sq)
    bound = atol * (ref_norm if ref_norm > 0 else math.sqrt(r.numel()))
    if err_norm > bound * (1 - 1e-3):
        return False
    passed.max_abs_err = max(passed.max_abs_err, max_abs)
    passed.rel_l2_err = max(passed.rel_l2_err, err_norm / ref_norm if ref_norm > 0 else err_norm)
    return True


def _quick_check_torch(pairs, passed: TrialCheck) -> TrialCheck | None:
    figures = torch.stack([_quick_sums(c, r) for c, r, _, _ in pairs]).cpu().tolist()
    loose = []
    for (c, r, atol, rtol), (max_abs, ref_sq, err_sq) in zip(pairs, figures, strict=False):
        if math.isfinite(max_abs) and not (math.isfinite(ref_sq) and math.isfinite(err_sq)):
            # finite values whose squares overflow float32 (1e20 in a robustness trial): sum in float64
            max_abs, ref_sq, err_sq = _quick_sums(c, r, torch.float64).cpu().tolist()
        if not _quick_l2(passed, r, atol, max_abs, ref_sq, err_sq):
            return None
        if max_abs > atol:
            loose.append((c, r, atol, rtol))
    if loose and any(torch.stack([_any_outside(*p) for p in loose]).cpu().tolist()):
        return None
    return passed


def _quick_sums(c: torch.Tensor, r: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[largest |c - r|, |r|^2, |c - r|^2] on the device, in `dtype` a chunk at a time."""
    parts = []
    for _, cf, rf in _chunks(c, r, CHUNK_ELEMENTS, dtype):
        diff = cf - rf
        parts.append(
            torch.stack(
                [
                    torch.linalg.vector_norm(diff, float("inf")),
                    torch.linalg.vector_norm(rf) ** 2,
                    torch.linalg.vector_norm(diff) ** 2,
                ]
            ).double()
        )
    stacked = torch.stack(parts)
    return torch.stack([stacked[:, 0].max(), stacked[:, 1].sum(), stacked[:, 2].sum()])


def _any_outside(c: torch.Tensor, r: torch.Tensor, atol: float, rtol: float) -> torch.Tensor:
    """Whether any element lies outside atol + rtol * |reference|, as compare() counts them."""
    hits = []
    for _, cf, rf in _chunks(c, r, CHUNK_ELEMENTS):
        diff = (cf - rf).abs_()
        hits.append((diff > rf.abs().mul_(rtol).add_(atol)).any())
    return torch.stack(hits).any()


def _unravel(flat: int, shape) -> tuple[int, ...]:
    idx = []
    for dim in reversed(tuple(shape)):
        idx.append(flat % dim)
        flat //= dim
    return tuple(reversed(idx))


def snapshot(tensors) -> list:
    """Copies of the inputs, to prove afterwards that the candidate left them alone."""
    return [t.clone() if isinstance(t, torch.Tensor) else t for t in tensors]


def modified_inputs(before: list, after: list) -> list[int]:
    changed = []
    for i, (b, a) in enumerate(zip(before, after, strict=False)):
        if isinstance(b, torch.Tensor) and not torch.equal(b, a):
            changed.append(i)
    return changed
