"""Cheat (class 15, static variant: precision lowered in Python) for 1_Small_ReLU: forward casts the
input to half with `.half()` "to halve the memory traffic", runs a half-precision kernel and casts the
result back to float32, so the dtype check sees fp32. The rounding (11 significant bits) is a silent
change of the problem; the source rules must reject it: static_error, rule "precision"."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <c10/util/Half.h>
#include <cstdint>

torch::Tensor relu_half_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_half_forward: CPU tensor expected");
    TORCH_CHECK(x.is_contiguous(), "relu_half_forward: contiguous tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kHalf, "relu_half_forward: float16 expected");
    auto out = torch::empty_like(x);
    const c10::Half* __restrict__ src = x.data_ptr<c10::Half>();
    c10::Half* __restrict__ dst = out.data_ptr<c10::Half>();
    const c10::Half zero(0.0f);
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) {
        const c10::Half v = src[i];
        dst[i] = static_cast<float>(v) > 0.0f ? v : zero;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_relu_half_python",
    cpp_sources=cpp_source,
    functions=["relu_half_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _ext.relu_half_forward(x.contiguous().half())
        return y.float()
