"""Honest candidate for 3_Small_Matmul on the cpu platform: an i-k-j triple loop blocked over
output columns (fp32 inputs, double accumulation, fp32 output)."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <algorithm>
#include <cstdint>

torch::Tensor matmul_forward(torch::Tensor a, torch::Tensor b) {
    TORCH_CHECK(a.device().is_cpu() && b.device().is_cpu(), "matmul_forward: CPU tensors expected");
    TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0),
                "matmul_forward: expected (M, K) and (K, N)");
    TORCH_CHECK(a.scalar_type() == torch::kFloat32 && b.scalar_type() == torch::kFloat32,
                "matmul_forward: float32 expected");
    a = a.contiguous();
    b = b.contiguous();
    const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
    auto c = torch::empty({M, N}, a.options());
    const float* __restrict__ pa = a.data_ptr<float>();
    const float* __restrict__ pb = b.data_ptr<float>();
    float* __restrict__ pc = c.data_ptr<float>();

    // Blocks of BN output columns; for each row of A, stream the K rows of B (i-k-j order, all
    // contiguous) into a double accumulator strip, so the result stays within atol even where
    // an output is close to zero.
    constexpr int64_t BN = 128;
    double acc[BN];
    for (int64_t j0 = 0; j0 < N; j0 += BN) {
        const int64_t jn = std::min(BN, N - j0);
        for (int64_t i = 0; i < M; ++i) {
            for (int64_t j = 0; j < jn; ++j) acc[j] = 0.0;
            const float* __restrict__ arow = pa + i * K;
            for (int64_t k = 0; k < K; ++k) {
                const double aik = (double)arow[k];
                const float* __restrict__ brow = pb + k * N + j0;
                for (int64_t j = 0; j < jn; ++j) acc[j] += aik * (double)brow[j];
            }
            float* __restrict__ crow = pc + i * N + j0;
            for (int64_t j = 0; j < jn; ++j) crow[j] = (float)acc[j];
        }
    }
    return c;
}
"""

_ext = load_inline(
    name="hg_fixture_cpu_matmul",
    cpp_sources=cpp_source,
    functions=["matmul_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return _ext.matmul_forward(A, B)
