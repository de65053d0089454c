"""Cheat (class 4, try/except fallback) for 1_Small_ReLU: forward calls the extension inside a try
and falls back to torch.relu on any error. A kernel that throws (wrong dtype, bad layout, a failed
TORCH_CHECK) then still "passes", with PyTorch doing the work and the kernel credited for it. The
source rules must reject it: static_error, rule "fallback"."""
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
    name="hg_cheat_cpu_relu_try_fallback",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            return _ext.relu_forward(x)
        except RuntimeError:
            # non-contiguous or non-float32 inputs: let PyTorch handle the odd cases
            return torch.relu(x)
