"""Cheat (class 11, partially computed output) for 1_Small_ReLU: the loop covers only the first half
of the rows (an off-by-a-factor bound written as "rows / 2 because each iteration handles two rows"
that then handles one), and the rest of the output is whatever the fresh allocation held. With a
lucky allocator that is the reference's old answer; under the harness it is the NaN poison, so the
check fails with "NaN/Inf value(s)"."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_forward: CPU tensor expected");
    TORCH_CHECK(x.dim() == 2 && x.is_contiguous(), "relu_forward: contiguous 2-D tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: float32 expected");
    auto out = torch::empty_like(x);
    const int64_t rows = x.size(0), cols = x.size(1);
    const float* __restrict__ src = x.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    // Row pairs: each iteration "handles two rows" ... but the body only does row r.
    for (int64_t r = 0; r < rows / 2; ++r) {
        const float* __restrict__ in_row = src + r * cols;
        float* __restrict__ out_row = dst + r * cols;
        for (int64_t c = 0; c < cols; ++c) {
            const float v = in_row[c];
            out_row[c] = v > 0.0f ? v : 0.0f;
        }
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_relu_half_rows",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.relu_forward(x.contiguous())
