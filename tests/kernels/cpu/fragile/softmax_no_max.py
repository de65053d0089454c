"""Fragile (range) for fragile/softmax_small on the cpu platform: a row softmax computed as
exp(x) / sum(exp(x)) without subtracting the row maximum. The benchmark draws torch.rand (values in
[0, 1)), where nothing overflows, so its verdict is correct; a row holding a large value such as 1e20
overflows exp to inf and the row becomes NaN, so the kernel must come back correct, timed, and
fragile."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cmath>
#include <cstdint>

torch::Tensor softmax_rows_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu() && x.dim() == 2 && x.scalar_type() == torch::kFloat32,
                "softmax_rows_forward: 2-D CPU float32 tensor expected (softmax over dim 1)");
    x = x.contiguous();
    auto out = torch::empty_like(x);
    const int64_t rows = x.size(0);
    const int64_t cols = x.size(1);
    const float* __restrict__ src = x.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r) {
        const float* xr = src + r * cols;
        float* yr = dst + r * cols;
        // One pass for the exponentials and their sum (no max pass: the inputs are in [0, 1)).
        float sum = 0.0f;
        for (int64_t c = 0; c < cols; ++c) {
            const float e = std::exp(xr[c]);
            yr[c] = e;
            sum += e;
        }
        const float inv = 1.0f / sum;
        for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_fragile_cpu_softmax_no_max",
    cpp_sources=cpp_source,
    functions=["softmax_rows_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.softmax_rows_forward(x)
