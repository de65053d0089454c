"""Where correctness is decided, on plain tensors."""

import pytest
import torch

from tools.harness.correctness import compare, modified_inputs, snapshot


def test_exact_match_passes():
    x = torch.randn(64, 32)
    assert compare(x.clone(), x).passed


def test_small_float_noise_passes_and_large_fails():
    x = torch.randn(256, 256)
    assert compare(x + 1e-6, x).passed
    r = compare(x + 1e-2, x)
    assert not r.passed and "outside atol=0.0001" in r.problem


def test_zeros_cannot_pass_a_near_zero_reference():
    ref = torch.randn(1000) * 1e-6  # every element is inside atol, so only the relative L2 test catches it
    r = compare(torch.zeros_like(ref), ref)
    assert not r.passed and "relative L2" in r.problem


def test_broadcastable_wrong_shape_fails():
    ref = torch.randn(64, 1)
    r = compare(ref.expand(64, 64).contiguous(), ref)
    assert not r.passed and "shape (64, 64), expected (64, 1)" in r.problem


def test_lowered_precision_fails_on_dtype():
    ref = torch.randn(16)
    r = compare(ref.to(torch.bfloat16), ref)
    assert not r.passed and "dtype" in r.problem


def test_nan_is_a_mismatch_and_located():
    ref = torch.randn(8, 8)
    bad = ref.clone()
    bad[3, 5] = float("nan")
    r = compare(bad, ref)
    assert not r.passed and "(3, 5)" in r.problem


def test_tuple_outputs_compared_each():
    a, b = torch.randn(4), torch.randn(5)
    assert compare((a.clone(), b.clone()), (a, b)).passed
    assert not compare((a.clone(),), (a, b)).passed
    assert "output 1" in compare((a.clone(), b + 1), (a, b)).problem


def test_half_precision_tolerance_is_looser():
    ref = torch.randn(128).half()
    assert compare(ref + torch.tensor(1e-3, dtype=torch.half), ref).passed


def test_input_modification_detected():
    xs = [torch.randn(10), 3]
    before = snapshot(xs)
    xs[0].relu_()
    assert modified_inputs(before, xs) == [0]


def test_chunked_statistics_match_a_single_pass_and_locate_late_errors():
    from tools.harness.correctness import _error_stats

    torch.manual_seed(0)
    ref = torch.randn(1000)
    cand = ref + 1e-3 * torch.randn(1000)
    cand[777] += 0.5
    whole, chunked = _error_stats(cand, ref, 1e-4, 1e-4), _error_stats(cand, ref, 1e-4, 1e-4, chunk=64)
    assert chunked.argmax == whole.argmax == 777 and chunked.n_bad == whole.n_bad
    assert chunked.max_rel == pytest.approx(whole.max_rel)
    assert chunked.err_sq == pytest.approx(whole.err_sq) and chunked.ref_sq == pytest.approx(whole.ref_sq)
    cand[900] = float("nan")
    ref[10] = float("nan")
    cand[10] = float("nan")  # the reference's own NaN is not held against the candidate
    late = _error_stats(cand, ref, 1e-4, 1e-4, chunk=64)
    assert late.nonfinite == 1 and late.first_nonfinite == 900
