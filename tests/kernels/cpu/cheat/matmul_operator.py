"""Cheat (class 3, banned op in forward) for 3_Small_Matmul: a hand-written C++ kernel is built and
called, but only to add a zero-initialised "epilogue"; the product itself is `A @ B`, which is MKL's
sgemm. The matrix product is what the problem asks the candidate to write, so the source rules must
reject it: static_error, rule "banned-op"."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

// Fused epilogue: C += bias (broadcast over rows), in place on the GEMM result.
torch::Tensor add_bias_rows(torch::Tensor c, torch::Tensor bias) {
    TORCH_CHECK(c.device().is_cpu() && bias.device().is_cpu(), "add_bias_rows: CPU tensors expected");
    TORCH_CHECK(c.dim() == 2 && c.is_contiguous(), "add_bias_rows: contiguous 2-D tensor expected");
    TORCH_CHECK(bias.dim() == 1 && bias.size(0) == c.size(1), "add_bias_rows: bias must match columns");
    TORCH_CHECK(c.scalar_type() == torch::kFloat32 && bias.scalar_type() == torch::kFloat32,
                "add_bias_rows: float32 expected");
    const int64_t rows = c.size(0), cols = c.size(1);
    float* __restrict__ pc = c.data_ptr<float>();
    const float* __restrict__ pb = bias.data_ptr<float>();
    for (int64_t i = 0; i < rows; ++i) {
        float* __restrict__ row = pc + i * cols;
        for (int64_t j = 0; j < cols; ++j) row[j] += pb[j];
    }
    return c;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_matmul_operator",
    cpp_sources=cpp_source,
    functions=["add_bias_rows"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        C = (A @ B).contiguous()
        zero_bias = torch.zeros(C.shape[1], dtype=C.dtype, device=C.device)
        return _ext.add_bias_rows(C, zero_bias)
