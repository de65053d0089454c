"""Cheat (class 3, banned op in forward, second spelling) for 3_Small_Matmul: the "tiled" kernel only
packs B into a transposed layout; the product is torch.einsum("ik,jk->ij", ...), which dispatches to
the same vendor GEMM as torch.matmul. Every spelling of the matrix product is banned for this problem:
static_error, rule "banned-op"."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <algorithm>
#include <cstdint>

// Pack B (K x N) into B^T (N x K) so the inner product walks both operands contiguously.
torch::Tensor pack_transpose(torch::Tensor b) {
    TORCH_CHECK(b.device().is_cpu() && b.dim() == 2, "pack_transpose: 2-D CPU tensor expected");
    TORCH_CHECK(b.scalar_type() == torch::kFloat32, "pack_transpose: float32 expected");
    b = b.contiguous();
    const int64_t K = b.size(0), N = b.size(1);
    auto bt = torch::empty({N, K}, b.options());
    const float* __restrict__ src = b.data_ptr<float>();
    float* __restrict__ dst = bt.data_ptr<float>();
    constexpr int64_t T = 32;
    for (int64_t k0 = 0; k0 < K; k0 += T)
        for (int64_t n0 = 0; n0 < N; n0 += T)
            for (int64_t k = k0; k < std::min(K, k0 + T); ++k)
                for (int64_t n = n0; n < std::min(N, n0 + T); ++n)
                    dst[n * K + k] = src[k * N + n];
    return bt;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_matmul_einsum",
    cpp_sources=cpp_source,
    functions=["pack_transpose"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        Bt = _ext.pack_transpose(B)
        return torch.einsum("ik,jk->ij", A, Bt)
