"""Inputs beyond the benchmark's (tools.harness.robustness): which variants apply to which inputs, and
how a trial is judged. The fixtures that are right only on the benchmark's inputs run through the real
harness in tests/test_fragile.py."""

from __future__ import annotations

import torch

from tools.harness import robustness


def _plan(inputs):
    gen = torch.Generator().manual_seed(1)
    return {v.name: made for v, made in robustness.plan(inputs, gen)}


def test_non_negative_inputs_get_signs_and_signed_inputs_a_wider_range():
    x = torch.rand(8, 6)
    plans = _plan([x])
    assert "signed" in plans and "wide" not in plans
    flipped = plans["signed"][0]
    assert bool((flipped < 0).any()) and torch.equal(flipped.abs(), x)
    plans = _plan([torch.randn(8, 6)])
    assert "wide" in plans and "signed" not in plans


def test_special_values_keep_the_shape_and_hold_negative_zero_subnormals_and_large_values():
    x = torch.rand(64, 64)
    s = _plan([x])["special"][0]
    assert s.shape == x.shape and s.dtype == x.dtype
    neg_zero = (s == 0) & torch.signbit(s)
    tiny = torch.finfo(torch.float32).tiny
    assert bool(neg_zero.any())
    assert bool(((s.abs() < tiny) & (s != 0)).any())
    assert float(s.abs().max()) == float(torch.tensor(1e20))
    h = _plan([torch.rand(64, 64).half()])["special"][0]
    assert float(h.abs().max()) == 1e4 and bool(torch.isfinite(h).all())


def test_shape_cuts_are_odd_and_follow_the_tensors_that_share_a_size():
    a, b = torch.randn(128, 256), torch.randn(256, 128)
    plans = _plan([a, b, 3])
    assert [tuple(t.shape) for t in plans["rows"][:2]] == [(65, 256), (256, 128)]
    assert [tuple(t.shape) for t in plans["cols"][:2]] == [(128, 129), (256, 128)]
    assert [tuple(t.shape) for t in plans["cols_last"][:2]] == [(128, 256), (256, 65)]
    assert plans["rows"][2] == 3
    # one tensor: no separate last-input cut, and a 1-D input has no trailing cut
    plans = _plan([torch.randn(10)])
    assert "cols" not in plans and "cols_last" not in plans and plans["rows"][0].shape == (5,)


def test_a_trial_counts_only_where_the_reference_is_finite():
    ref = torch.tensor([1.0, float("nan"), 3.0, float("inf")])
    good = torch.tensor([1.0, 7.0, 3.0, 0.0])
    assert robustness.judge(good, ref, torch.float32, 1.0, None) == (True, "")
    bad = torch.tensor([1.0, 7.0, float("nan"), 0.0])
    passed, problem = robustness.judge(bad, ref, torch.float32, 1.0, None)
    assert passed is False and "NaN/Inf" in problem
    mostly_nan = torch.tensor([float("nan")] * 3 + [1.0])
    passed, problem = robustness.judge(mostly_nan, mostly_nan, torch.float32, 1.0, None)
    assert passed is None and "75% NaN/Inf" in problem


def test_the_bound_grows_with_the_output_scale_and_the_references_own_rounding():
    ref = torch.full((100,), 1000.0)
    off = ref + 0.5
    assert robustness.judge(off, ref, torch.float32, 1000.0, None)[0] is False  # 1e-4 + 1e-4 * 1000 < 0.5
    assert robustness.judge(off, ref, torch.float32, 1000.0, None, rounding=0.3)[0] is True
    # outputs 1000x the benchmark's: absolute error allowed 1000x (0.1 + 1e-4 * 1000)
    assert robustness.judge(ref + 0.15, ref, torch.float32, 1.0, None)[0] is True
    assert robustness.judge(ref + 0.3, ref, torch.float32, 1.0, None)[0] is False


def test_an_identity_relu_is_wrong_on_signed_inputs_and_an_honest_one_is_not():
    x = torch.rand(16, 32)
    signed = _plan([x])["signed"][0]
    ref = torch.relu(signed)
    assert robustness.judge(torch.relu(signed), ref, torch.float32, robustness.scale(torch.relu(x)), None)[0]
    passed, problem = robustness.judge(signed.clone(), ref, torch.float32, robustness.scale(torch.relu(x)), None)
    assert passed is False and "outside atol" in problem


def test_the_float64_rerun_measures_the_references_own_error():
    class Sum(torch.nn.Module):
        def forward(self, x):
            return x.sum(dim=1)

    x = torch.randn(4, 4096)
    x[:, ::64] = 1e20
    x[:, 1::64] = -1e20
    out = Sum()(x)
    assert robustness.rounding_error(Sum(), [x], out) > 1.0  # cancellation: float32 loses the small terms

    class NoDouble(torch.nn.Module):
        def forward(self, x):
            if x.dtype == torch.float64:
                raise RuntimeError("float32 only")
            return x

    assert robustness.rounding_error(NoDouble(), [torch.ones(3)], torch.ones(3)) == 0.0
