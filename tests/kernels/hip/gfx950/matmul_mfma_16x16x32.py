"""Build fixture: C = A @ B on the gfx950-only MFMA __builtin_amdgcn_mfma_f32_16x16x32_bf16, with no
__has_builtin guard. It compiles for gfx950 (MI350X/MI355X) and must fail for gfx942 (MI300X) with the
compiler's own message ("needs target feature gfx950-insts").

Each 64-lane wavefront computes one 16x16 tile of C, stepping k by 32: lane t supplies A[row t%16]
[k0 + 8*(t/16) .. +7] and B[same k][col t%16], and receives C[4*(t/16) + i][t%16] for i = 0..3.
Operands are rounded to bf16, so against fp32 problems (3_Small_Matmul) it is for build tests only.
"""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor matmul_bf16_mfma(torch::Tensor a, torch::Tensor b);"

hip_source = r"""
#include <hip/hip_runtime.h>
#include <torch/types.h>

typedef __bf16 bf16x8 __attribute__((ext_vector_type(8)));
typedef float floatx4 __attribute__((ext_vector_type(4)));

__global__ __launch_bounds__(64) void matmul_mfma_16x16x32(const float* __restrict__ a, const float* __restrict__ b,
                                                           float* __restrict__ c, int M, int N, int K) {
    const int lane = threadIdx.x;
    const int row = blockIdx.y * 16 + lane % 16, col = blockIdx.x * 16 + lane % 16;
    const int kq = 8 * (lane / 16);
    floatx4 acc = {0.f, 0.f, 0.f, 0.f};
    for (int k0 = 0; k0 < K; k0 += 32) {
        bf16x8 x, y;
        for (int j = 0; j < 8; ++j) {
            const int k = k0 + kq + j;
            x[j] = (__bf16)((row < M && k < K) ? a[(long)row * K + k] : 0.f);
            y[j] = (__bf16)((col < N && k < K) ? b[(long)k * N + col] : 0.f);
        }
        acc = __builtin_amdgcn_mfma_f32_16x16x32_bf16(x, y, acc, 0, 0, 0);
    }
    for (int i = 0; i < 4; ++i) {
        const int r = blockIdx.y * 16 + 4 * (lane / 16) + i;
        if (r < M && col < N) c[(long)r * N + col] = acc[i];
    }
}

torch::Tensor matmul_bf16_mfma(torch::Tensor a, torch::Tensor b) {
    TORCH_CHECK(a.is_cuda() && b.is_cuda() && a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0),
                "matmul_bf16_mfma: (M,K) x (K,N) GPU tensors expected");
    a = a.contiguous().to(torch::kFloat);
    b = b.contiguous().to(torch::kFloat);
    const int M = a.size(0), K = a.size(1), N = b.size(1);
    auto c = torch::empty({M, N}, a.options());
    const dim3 grid((N + 15) / 16, (M + 15) / 16);
    hipLaunchKernelGGL(matmul_mfma_16x16x32, grid, dim3(64), 0, 0, a.data_ptr<float>(), b.data_ptr<float>(),
                       c.data_ptr<float>(), M, N, K);
    return c;
}
"""

_ext = load_inline(
    name="hg_fixture_hip_mfma_16x16x32",
    cpp_sources=cpp_source,
    cuda_sources=hip_source,
    functions=["matmul_bf16_mfma"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return _ext.matmul_bf16_mfma(A, B)
