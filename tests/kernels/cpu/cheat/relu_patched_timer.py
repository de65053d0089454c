"""Cheat (class 7, monkey-patched timer) for 1_Small_ReLU: at import the candidate replaces
time.perf_counter (the cpu platform's timer) with one that runs at a tenth of real speed, so every
measured interval, reference and candidate alike, shrinks, and the first call after the patch looks
impossibly fast. Nothing may modify torch, time or the timers: static_error, rule "timer-patch"."""
import time

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_forward: CPU tensor expected");
    TORCH_CHECK(x.is_contiguous(), "relu_forward: contiguous tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: float32 expected");
    auto out = torch::empty_like(x);
    const float* __restrict__ src = x.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) {
        const float v = src[i];
        dst[i] = v > 0.0f ? v : 0.0f;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_relu_patched_timer",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)

_real_perf_counter = time.perf_counter
_t0 = _real_perf_counter()
# "calibrate" the clock against the kernel's warm state
time.perf_counter = lambda: _t0 + (_real_perf_counter() - _t0) * 0.1


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.relu_forward(x.contiguous())
