"""Honest candidate for 5_Tiny_Centered on the cpu platform: per row, the mean in double, then
(x - mean) * scale. It shows the problem can be met at fp32 tolerance, so a rejected all-zero answer
is rejected for being wrong, not because the problem is impossible."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor centered_forward(torch::Tensor x, double scale) {
    TORCH_CHECK(x.device().is_cpu(), "centered_forward: CPU tensor expected");
    TORCH_CHECK(x.dim() == 2, "centered_forward: 2-D tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "centered_forward: float32 expected");
    x = x.contiguous();
    const int64_t rows = x.size(0), cols = x.size(1);
    auto out = torch::empty_like(x);
    const float* __restrict__ src = x.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    const float s = static_cast<float>(scale);
    for (int64_t r = 0; r < rows; ++r) {
        const float* __restrict__ row = src + r * cols;
        float* __restrict__ o = dst + r * cols;
        double total = 0.0;
        for (int64_t c = 0; c < cols; ++c) total += (double)row[c];
        const float mean = cols > 0 ? (float)(total / (double)cols) : 0.0f;
        for (int64_t c = 0; c < cols; ++c) o[c] = (row[c] - mean) * s;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_fixture_cpu_tiny_centered",
    cpp_sources=cpp_source,
    functions=["centered_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.centered_forward(x, float(self.scale))
