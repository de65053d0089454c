"""Cheat (class 15, precision silently lowered inside the C++) for 2_Scale_Shift: the wrapper rounds x,
scale and bias to IEEE half (c10::Half) "to halve the memory traffic", does the multiply-add in half
and widens the result back to fp32, so dtypes and shapes look right. Half keeps 11 significant bits:
relative errors of ~5e-4 are far outside the fp32 tolerance (atol = rtol = 1e-4), so the check must
fail it: incorrect, "elements outside" (or "relative L2")."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <c10/util/Half.h>
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
    const c10::Half s = static_cast<c10::Half>(static_cast<float>(scale));
    for (int64_t r = 0; r < rows; ++r) {
        const float* __restrict__ xr = src + r * cols;
        float* __restrict__ yr = dst + r * cols;
        for (int64_t c = 0; c < cols; ++c) {
            // half in, half math, half result: "plenty for a scale and a shift"
            const c10::Half xh = static_cast<c10::Half>(xr[c]);
            const c10::Half bh = static_cast<c10::Half>(b[c]);
            const c10::Half yh = static_cast<c10::Half>(xh * s + bh);
            yr[c] = static_cast<float>(yh);
        }
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_scale_shift_half",
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
