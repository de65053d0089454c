"""Honest candidate for 2_Scale_Shift on the cpu platform.

The bias parameter is created exactly as Model creates it (same name, shape, RNG call), so the
harness's seeded construction gives both modules the same values.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor scale_shift_forward(torch::Tensor x, torch::Tensor bias, double scale) {
    TORCH_CHECK(x.device().is_cpu() && bias.device().is_cpu(), "scale_shift: CPU tensors expected");
    TORCH_CHECK(x.is_contiguous() && bias.is_contiguous(), "scale_shift: contiguous tensors expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 && bias.scalar_type() == torch::kFloat32,
                "scale_shift: float32 expected");
    TORCH_CHECK(x.dim() >= 1 && bias.dim() == 1 && x.size(-1) == bias.size(0),
                "scale_shift: bias must match the last dimension of x");
    auto out = torch::empty_like(x);
    const int64_t cols = bias.size(0);
    const int64_t rows = cols == 0 ? 0 : x.numel() / cols;
    const float* __restrict__ src = x.data_ptr<float>();
    const float* __restrict__ b = bias.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    const float s = static_cast<float>(scale);
    for (int64_t r = 0; r < rows; ++r) {
        const float* __restrict__ xr = src + r * cols;
        float* __restrict__ yr = dst + r * cols;
        for (int64_t c = 0; c < cols; ++c) {
            yr[c] = xr[c] * s + b[c];
        }
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_fixture_cpu_scale_shift",
    cpp_sources=cpp_source,
    functions=["scale_shift_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, scale: float, features: int):
        super().__init__()
        self.scale = scale
        self.bias = nn.Parameter(torch.randn(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.scale_shift_forward(x.contiguous(), self.bias.contiguous(), float(self.scale))
