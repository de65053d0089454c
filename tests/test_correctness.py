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


def test_the_finite_pass_gives_the_same_figures_as_the_pass_that_handles_nan():
    from tools.harness.correctness import _error_stats, _error_stats_nonfinite

    torch.manual_seed(1)
    ref = torch.randn(5000) * 3
    cand = ref + 2e-4 * torch.randn(5000)
    fast, full = _error_stats(cand, ref, 1e-4, 1e-4, chunk=700), _error_stats_nonfinite(cand, ref, 1e-4, 1e-4, 700)
    assert fast.argmax == full.argmax and fast.n_bad == full.n_bad > 0
    assert (fast.got, fast.expected) == (full.got, full.expected)
    for name in ("max_abs", "max_rel", "ref_sq", "err_sq"):
        assert getattr(fast, name) == pytest.approx(getattr(full, name), rel=1e-5), name


def _matches_cases():
    torch.manual_seed(2)
    ref = torch.randn(4096)
    big = torch.rand(64, 64) * 2048  # row sums: errors above atol, inside rtol
    nan_ref = ref.clone()
    nan_ref[3] = float("nan")
    nan_both = nan_ref.clone()
    one_off = ref.clone()
    one_off[4000] += 0.01
    nan_cand = ref.clone()
    nan_cand[17] = float("nan")
    inf_cand = ref.clone()
    inf_cand[9] = float("inf")
    tiny = torch.full((4096,), 1e-6)
    huge = torch.randn(4096) * 1e20
    # relative L2 error just under and just over 1e-4, every element inside its elementwise bound
    unit = torch.ones(4096)
    return [
        ("same", ref.clone(), ref, True),
        ("noise", ref + 1e-6 * torch.randn(4096), ref, True),
        ("rtol only", big * (1 + 5e-5), big, True),
        ("one element off", one_off, ref, False),
        ("noise everywhere", ref + 1e-2 * torch.randn(4096), ref, False),
        ("nan in the candidate", nan_cand, ref, False),
        ("inf in the candidate", inf_cand, ref, False),
        ("the reference's own nan", nan_both, nan_ref, None),
        ("zeros on a near-zero reference", torch.zeros(4096), tiny, None),
        # squares overflow float32: the quick sums are redone in float64, not left to compare()
        ("huge values", huge * (1 + 1e-7), huge, True),
        ("huge values, one off", torch.cat([huge[:-1] * (1 + 1e-7), huge[-1:] * 1.01]), huge, False),
        ("l2 under", unit * (1 + 0.99e-4), unit, None),
        ("l2 over", unit * (1 + 1.01e-4) + 1e-5, unit, False),
        ("shape", ref[:-1].clone(), ref, False),
        ("dtype", ref.double(), ref, False),
        ("half", ref.half() + 1e-3, ref.half(), None),
        ("tuple", (ref.clone(), big.clone()), (ref, big), True),
        ("tuple, one wrong", (ref.clone(), big + 1), (ref, big), False),
        ("count", (ref.clone(),), (ref, big), False),
        ("scalar", 3.0, 3.0, None),
        ("empty", torch.empty(0), torch.empty(0), True),
    ]


@pytest.mark.parametrize("name,cand,ref,expected", _matches_cases(), ids=[c[0] for c in _matches_cases()])
def test_the_quick_verdict_for_timed_outputs_never_passes_what_compare_rejects(name, cand, ref, expected, monkeypatch):
    """matches() is what every timed output gets; a True must mean compare() passes, and the common honest
    cases must get True without compare(). None: either answer is allowed, as long as it is sound."""
    from tools.harness import correctness

    monkeypatch.setattr(correctness, "CHUNK_ELEMENTS", 1000)  # several chunks even for these sizes
    assert_quick_verdict_sound(name, cand, ref, expected)


def assert_quick_verdict_sound(name, cand, ref, expected) -> None:
    """The quick verdict passes only what compare() passes, gives `expected` where that is not None, and,
    passing, reports compare()'s figures (a passing check shows the model the quick ones)."""
    from tools.harness import correctness

    quick, full = correctness.matches(cand, ref), correctness.compare(cand, ref).passed
    if quick:
        assert full, f"{name}: matches() passed what compare() rejects"
    if expected is not None:
        assert quick is expected and full is expected, name
    if quick:
        fast, slow = correctness.quick_check(cand, ref), correctness.compare(cand, ref)
        assert fast.max_abs_err == pytest.approx(slow.max_abs_err, rel=1e-5, abs=1e-12), name
        assert fast.rel_l2_err == pytest.approx(slow.rel_l2_err, rel=1e-4, abs=1e-12), name
