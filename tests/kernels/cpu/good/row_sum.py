"""Honest candidate for 4_Row_Sum on the cpu platform: sum over dim 1 of a 2-D tensor, keepdim.

Eight independent double accumulators per row: vectorizable, and accurate enough that rows whose sum
is near zero still meet atol = 1e-4 (a plain fp32 running sum over 4096 values does not reliably).
"""
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
    auto out = torch::empty({rows, 1}, x.options());
    const float* __restrict__ src = x.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    constexpr int LANES = 8;
    for (int64_t r = 0; r < rows; ++r) {
        const float* __restrict__ row = src + r * cols;
        double acc[LANES] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        int64_t c = 0;
        for (; c + LANES <= cols; c += LANES) {
            for (int l = 0; l < LANES; ++l) acc[l] += (double)row[c + l];
        }
        double total = 0.0;
        for (; c < cols; ++c) total += (double)row[c];
        for (int l = 0; l < LANES; ++l) total += acc[l];
        dst[r] = (float)total;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_fixture_cpu_row_sum",
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
