"""Inputs beyond the benchmark's: the same problem on values and shapes its get_inputs() never draws,
so a kernel that is right only where the benchmark looks (an identity "ReLU" on non-negative inputs, a
loop with no tail, an exp that overflows) is found. The benchmark's verdict stands, since published
figures use it; such a kernel is marked fragile.

Each variant turns the benchmark's inputs into new ones, or says it does not apply. Comparison counts
only the elements where the reference's output is finite, and its error bound grows with the scale of
the output and with the reference's own rounding error on those inputs (its float64 rerun), so an
honest kernel that sums in another order is not called fragile where the reference itself is inexact."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch

from tools.harness.correctness import compare, flatten, matches, tolerance_for
from tools.harness.results import TrialCheck

# Part of the output that must be finite in the reference for a trial to count.
MIN_FINITE = 0.5
SPECIAL_EVERY = 61  # one element in about this many becomes a special value


@dataclass
class Variant:
    name: str
    describe: str
    make: Callable[[list, torch.Generator], list | None]
    oracle: bool = False  # bound the error by the reference's own, from a float64 rerun


def _floats(inputs: list) -> list[int]:
    return [i for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.is_floating_point() and x.numel()]


def _replace(inputs: list, which: list[int], fn) -> list:
    out = list(inputs)
    for i in which:
        out[i] = fn(inputs[i])
    return out


def _signed(inputs: list, gen: torch.Generator) -> list | None:
    which = [i for i in _floats(inputs) if bool((inputs[i] >= 0).all())]
    if not which:
        return None

    def flip(x):
        sign = torch.randint(0, 2, x.shape, generator=gen, device=x.device).to(x.dtype) * 2 - 1
        return x * sign

    return _replace(inputs, which, flip)


def _wide(inputs: list, gen: torch.Generator) -> list | None:
    which = _floats(inputs)
    return _replace(inputs, which, lambda x: x * 16) if which else None


def _large(dtype: torch.dtype) -> float:
    return {torch.float16: 1e4, torch.float64: 1e100}.get(dtype, 1e20)


def _special(inputs: list, gen: torch.Generator) -> list | None:
    which = _floats(inputs)
    if not which:
        return None

    def sprinkle(x):
        info = torch.finfo(x.dtype)
        values = torch.tensor(
            [-0.0, info.tiny / 4, -info.tiny / 4, _large(x.dtype), -_large(x.dtype)], dtype=x.dtype, device=x.device
        )
        flat = x.clone().reshape(-1)
        picks = torch.randint(0, SPECIAL_EVERY, flat.shape, generator=gen, device=x.device) == 0
        kinds = torch.randint(0, len(values), flat.shape, generator=gen, device=x.device)
        flat[picks] = values[kinds[picks]]
        return flat.reshape(x.shape)

    return _replace(inputs, which, sprinkle)


def _odd_below(n: int) -> int | None:
    """An odd size near half of n, so vector widths and tile sizes stop dividing it."""
    if n < 3:
        return None
    m = n // 2
    return m if m % 2 else m + 1


def _resize(dim: int, anchor: int = 0) -> Callable[[list, torch.Generator], list | None]:
    """Cut one dimension (0: leading, -1: trailing) of every tensor that shares the anchor tensor's size
    there (the first tensor, or the last): batch or sequence lengths, which the problem's parameters
    rarely fix. The last tensor's is tried only where it cuts a different set of tensors."""

    def pick(inputs: list, at: int) -> tuple[list[int], int] | None:
        tensors = [i for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.dim() > 0]
        if not tensors or (dim == -1 and inputs[tensors[at]].dim() < 2):
            return None
        n = inputs[tensors[at]].shape[dim]
        return [i for i in tensors if inputs[i].shape[dim] == n], n

    def make(inputs: list, gen: torch.Generator) -> list | None:
        chosen = pick(inputs, anchor)
        if chosen is None or (anchor != 0 and chosen == pick(inputs, 0)):
            return None
        which, n = chosen
        m = _odd_below(n)
        return None if m is None else _replace(inputs, which, lambda x: x.narrow(dim, 0, m).contiguous())

    return make


def _both(first, second) -> Callable[[list, torch.Generator], list | None]:
    """Both cuts: odd by odd, so the element count itself is odd and no vector width divides it."""

    def make(inputs: list, gen: torch.Generator) -> list | None:
        once = first(inputs, gen)
        return second(once, gen) if once is not None else None

    return make


VARIANTS = [
    Variant("signed", "the benchmark's values with random signs (it draws only non-negative ones)", _signed),
    Variant("wide", "values 16 times the benchmark's range", _wide),
    Variant(
        "special",
        "-0.0, subnormals and values of magnitude 1e20 (1e4 in float16) at about 1 in 61 positions",
        _special,
        oracle=True,
    ),
    Variant("rows", "a smaller, odd leading dimension", _resize(0)),
    Variant("cols", "a smaller, odd last dimension", _resize(-1)),
    Variant("cols_last", "a smaller, odd last dimension of the last input", _resize(-1, anchor=-1)),
    Variant("odd", "smaller, odd leading and last dimensions", _both(_resize(0), _resize(-1))),
]


def plan(inputs: list, gen: torch.Generator) -> list[tuple[Variant, list]]:
    """The variants that apply to these inputs, with their inputs: signed where the benchmark draws
    non-negative values, else wider; special values; and each shape cut."""
    out = []
    for v in VARIANTS:
        if v.name == "wide" and any(p[0].name == "signed" for p in out):
            continue
        made = v.make(inputs, gen)
        if made is not None:
            out.append((v, made))
    return out


def shapes(inputs: list) -> str:
    return ", ".join(
        f"{tuple(x.shape)}" if isinstance(x, torch.Tensor) else repr(x) for x in inputs if not isinstance(x, str)
    )


def _finite_share(out) -> float:
    tensors = [t for t in flatten(out) if isinstance(t, torch.Tensor) and t.is_floating_point() and t.numel()]
    if not tensors:
        return 1.0
    finite = sum(int(torch.isfinite(t).sum()) for t in tensors)
    return finite / sum(t.numel() for t in tensors)


def _masked(out, ref):
    """Candidate and reference outputs with the reference's non-finite elements set to 0 on both sides."""
    if isinstance(ref, (list, tuple)) and isinstance(out, (list, tuple)) and len(out) == len(ref):
        pairs = [_masked(o, r) for o, r in zip(out, ref, strict=False)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if (
        isinstance(ref, torch.Tensor)
        and isinstance(out, torch.Tensor)
        and ref.is_floating_point()
        and out.shape == ref.shape
        and out.dtype == ref.dtype
    ):
        keep = torch.isfinite(ref)
        return torch.where(keep, out, torch.zeros((), dtype=out.dtype, device=out.device)), torch.where(
            keep, ref, torch.zeros((), dtype=ref.dtype, device=ref.device)
        )
    return out, ref


def scale(out) -> float:
    """A typical output magnitude: the median of |finite values| of the first floating output."""
    for t in flatten(out):
        if isinstance(t, torch.Tensor) and t.is_floating_point() and t.numel():
            vals = t.detach().reshape(-1)[: 1 << 22].float().abs()
            vals = vals[torch.isfinite(vals)]
            return float(vals.median()) if vals.numel() else 0.0
    return 0.0


def rounding_error(ref_model, inputs: list, out_ref) -> float:
    """The reference's own largest error on these inputs, against its float64 rerun (0 where the
    reference cannot run in float64)."""
    try:
        model64 = copy.deepcopy(ref_model).double()
        x64 = [x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x for x in inputs]
        out64 = model64(*x64)
    except Exception:  # noqa: BLE001 - an op without float64 support: no oracle, the plain bound stands
        return 0.0
    worst = 0.0
    for r, r64 in zip(flatten(out_ref), flatten(out64), strict=False):
        if isinstance(r, torch.Tensor) and r.is_floating_point() and r.shape == r64.shape and r.numel():
            ok = torch.isfinite(r) & torch.isfinite(r64)
            # where(), not a boolean index: that gathers a copy, and on a GPU waits for its size
            err = torch.where(ok, (r.double() - r64).abs(), torch.zeros((), dtype=torch.float64, device=r.device))
            worst = max(worst, float(err.max()))
    return worst


def judge(
    out_cand, out_ref, dtype: torch.dtype, base_scale: float, tol, rounding: float = 0.0
) -> tuple[bool | None, str]:
    """(passed, problem) for one trial; passed is None when the trial does not count (the reference's
    output is mostly non-finite on these inputs)."""
    if matches(out_cand, out_ref, tolerance_for(dtype, tol)):
        # all finite, within the narrowest bound below: the widened one passes too
        return True, ""
    share = _finite_share(out_ref)
    if share < MIN_FINITE:
        return None, f"the reference's output is {100 * (1 - share):.0f}% NaN/Inf on these inputs"
    atol, rtol = tolerance_for(dtype, tol)
    grow = max(1.0, scale(out_ref) / base_scale) if base_scale > 0 else 1.0
    atol = atol * grow + 2 * rounding
    c, r = (out_cand, out_ref) if share == 1.0 else _masked(out_cand, out_ref)
    if matches(c, r, (atol, rtol)):
        return True, ""
    res: TrialCheck = compare(c, r, (atol, rtol))
    return res.passed, res.problem
