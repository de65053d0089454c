"""On an NVIDIA GPU (`pytest -m gpu`): the fused comparison (tools.platforms.cuda_compare) gives the
quick verdicts compare() allows, counts what torch's float32 arithmetic counts for every dtype it reads,
and reads a large pair near memory speed. FIGURE lines are the measurements the closing note quotes."""

import time

import pytest

from tests.test_correctness import _matches_cases, assert_quick_verdict_sound

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda():
    import torch

    if not torch.cuda.is_available() or torch.version.hip:
        pytest.fail("this -m gpu file needs an NVIDIA GPU")
    from tools.platforms import cuda_compare

    assert cuda_compare.compile_images(), "NVRTC did not compile tools/platforms/cuda_compare.cu"
    return torch.device("cuda")


def _to(x, device):
    import torch

    if isinstance(x, (list, tuple)):
        return type(x)(_to(v, device) for v in x)
    return x.to(device) if isinstance(x, torch.Tensor) else x


@pytest.mark.parametrize("name,cand,ref,expected", _matches_cases(), ids=[c[0] for c in _matches_cases()])
def test_the_fused_verdict_never_passes_what_compare_rejects(cuda, name, cand, ref, expected):
    from tools.harness import correctness
    from tools.platforms import cuda_compare

    cand, ref = _to(cand, cuda), _to(ref, cuda)
    pairs = correctness._quick_pairs(cand, ref, None)
    if pairs:
        assert cuda_compare.figures(pairs) is not None, f"{name}: the fused pass did not run"
    assert_quick_verdict_sound(name, cand, ref, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("n", [1, 1023, 4 * 1024 * 257 + 3, 3_000_001])
def test_the_fused_figures_are_torchs_float32_figures(cuda, dtype, n):
    import torch

    from tools.platforms import cuda_compare

    g = torch.Generator(device=cuda).manual_seed(n)
    dt = getattr(torch, dtype)
    r = torch.randn(n, generator=g, device=cuda).to(dt)
    c = (r.double() + 1e-3 * torch.randn(n, generator=g, device=cuda, dtype=torch.float64)).to(dt)
    if n > 2:
        c[n // 2] = float("nan")
        r[n // 3] = float("inf")
        c[n - 1] = r[n - 1] + 1.0  # one far outside the bound
    atol, rtol = 1e-3, 2e-3
    [(max_abs, ref_sq, err_sq, outside, nonfinite)] = cuda_compare.figures([(c, r, atol, rtol)])
    cf, rf = c.float(), r.float()
    d = (cf - rf).abs()
    ok = torch.isfinite(cf) & torch.isfinite(rf) & torch.isfinite(d)
    assert nonfinite == int((~ok).sum())
    assert outside == int((d > rf.abs().mul(rtol).add(atol))[ok].sum())
    assert max_abs == float(d[ok].max())
    assert ref_sq == pytest.approx(float((rf[ok].double() ** 2).sum()), rel=1e-9)
    assert err_sq == pytest.approx(float((d[ok].double() ** 2).sum()), rel=1e-9)


def test_the_fused_pass_reads_a_large_pair_near_memory_speed(cuda):
    """FIGURE: one 4 GiB float32 output against its reference, fused against the torch reductions."""
    import torch

    from tools.harness import correctness
    from tools.harness.results import TrialCheck

    r = torch.rand(1 << 30, device=cuda)
    c = r + 1e-6
    pairs = [(c, r, 1e-4, 1e-4)]

    def best(fn, reps=5):
        fn()
        times = []
        for _ in range(reps):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    fresh = lambda: TrialCheck(trial=0, passed=True, candidate_first=False, max_abs_err=0.0, rel_l2_err=0.0)
    fused = best(lambda: correctness.quick_check(c, r))
    plain = best(lambda: correctness._quick_check_torch(pairs, fresh()))
    gbps = 2 * r.numel() * 4 / fused / 1e9
    print(
        f"FIGURE fused compare 4 GiB fp32: {fused * 1e3:.2f} ms ({gbps:.0f} GB/s); torch reductions {plain * 1e3:.2f} ms"
    )
    assert correctness.quick_check(c, r) is not None
    assert correctness._quick_check_torch(pairs, fresh()) is not None


def test_the_module_is_machine_code_for_this_device(cuda):
    """No PTX to JIT in a worker's lane: NVML named this GPU's model, so a cubin for it was built."""
    import torch

    from tools.platforms import cuda_compare

    torch.zeros(1, device=cuda)
    major, minor = torch.cuda.get_device_capability()
    assert cuda_compare.loaded_image() == f"sm_{major}{minor}"
