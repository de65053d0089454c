"""Cheat (class 19, result depends on leftover memory) for 4_Row_Sum: the row sums are accumulated
into a torch::empty scratch buffer that is never zeroed ("the allocator gives us zeroed pages anyway,
so skip the memset"). The answer is right only when the scratch happens to start at zero, so it
depends on what the previous user of that memory left there. The harness fills free memory with NaN
and compares repeated runs on the same inputs, so this must fail: incorrect, "NaN/Inf value(s)" or
"different results for the same inputs"."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor row_sum_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "row_sum_forward: CPU tensor expected");
    TORCH_CHECK(x.dim() == 2, "row_sum_forward: 2-D tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "row_sum_forward: float32 expected");
    x = x.contiguous();
    const int64_t rows = x.size(0), cols = x.size(1);
    constexpr int LANES = 8;
    // One double accumulator per lane per row; skipping the zero-fill saves a pass over the scratch.
    auto scratch = torch::empty({rows, LANES}, x.options().dtype(torch::kFloat64));
    auto out = torch::empty({rows, 1}, x.options());
    const float* __restrict__ src = x.data_ptr<float>();
    double* __restrict__ acc = scratch.data_ptr<double>();
    float* __restrict__ dst = out.data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r) {
        const float* __restrict__ row = src + r * cols;
        double* __restrict__ a = acc + r * LANES;
        int64_t c = 0;
        for (; c + LANES <= cols; c += LANES) {
            for (int l = 0; l < LANES; ++l) a[l] += (double)row[c + l];
        }
        for (; c < cols; ++c) a[0] += (double)row[c];
        double total = 0.0;
        for (int l = 0; l < LANES; ++l) total += a[l];
        dst[r] = (float)total;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_row_sum_dirty_scratch",
    cpp_sources=cpp_source,
    functions=["row_sum_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        if dim not in (1, -1):
            raise ValueError("this kernel reduces over dim 1 of a 2-D tensor")
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.row_sum_forward(x)
