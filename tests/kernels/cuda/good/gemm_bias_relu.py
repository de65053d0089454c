"""Honest candidate for lane_time's level2/76_Gemm_Add_ReLU_Full on the cuda platform.

relu(x @ W^T + bias) in one kernel: 64 x 64 output tiles, K in steps of 16 staged through shared memory
(both operands stored k-major there, so the inner loop reads them as broadcasts), a 4 x 4 block of
outputs per thread in registers, fp32 throughout, bounds checked on every edge, current stream.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor gemm_bias_relu(torch::Tensor x, torch::Tensor w, torch::Tensor bias);"

cuda_source = r"""
#include <torch/types.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <cstdint>

constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4, THREADS = 256;

// x: (M, K) row-major; w: (N, K) row-major (nn.Linear's weight); out: (M, N).
__global__ void __launch_bounds__(THREADS)
gemm_bias_relu_kernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                      float* __restrict__ out, int64_t M, int64_t N, int64_t K) {
    __shared__ float xs[BK][BM];
    __shared__ float ws[BK][BN];
    const int t = threadIdx.x;
    const int64_t m0 = (int64_t)blockIdx.y * BM, n0 = (int64_t)blockIdx.x * BN;
    const int ty = t / (BN / TN), tx = t % (BN / TN);
    float acc[TM][TN] = {};
    // each thread stages 4 consecutive k of one row of each operand
    const int lr = t / (BK / 4), lk = (t % (BK / 4)) * 4;
    for (int64_t k0 = 0; k0 < K; k0 += BK) {
        for (int j = 0; j < 4; ++j) {
            const int64_t k = k0 + lk + j;
            const int64_t m = m0 + lr, n = n0 + lr;
            xs[lk + j][lr] = (m < M && k < K) ? x[m * K + k] : 0.0f;
            ws[lk + j][lr] = (n < N && k < K) ? w[n * K + k] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            float a[TM], b[TN];
#pragma unroll
            for (int i = 0; i < TM; ++i) a[i] = xs[kk][ty * TM + i];
#pragma unroll
            for (int j = 0; j < TN; ++j) b[j] = ws[kk][tx * TN + j];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
    for (int i = 0; i < TM; ++i) {
        const int64_t m = m0 + ty * TM + i;
        if (m >= M) continue;
        for (int j = 0; j < TN; ++j) {
            const int64_t n = n0 + tx * TN + j;
            if (n < N) out[m * N + n] = fmaxf(acc[i][j] + bias[n], 0.0f);
        }
    }
}

torch::Tensor gemm_bias_relu(torch::Tensor x, torch::Tensor w, torch::Tensor bias) {
    TORCH_CHECK(x.is_cuda() && w.is_cuda() && bias.is_cuda(), "gemm_bias_relu: CUDA tensors expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 && w.scalar_type() == torch::kFloat32 &&
                bias.scalar_type() == torch::kFloat32, "gemm_bias_relu: float32 expected");
    TORCH_CHECK(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1) && bias.numel() == w.size(0),
                "gemm_bias_relu: x (M, K), w (N, K), bias (N) expected");
    x = x.contiguous();
    w = w.contiguous();
    bias = bias.contiguous();
    const int64_t M = x.size(0), K = x.size(1), N = w.size(0);
    auto out = torch::empty({M, N}, x.options());
    if (M == 0 || N == 0) return out;
    const dim3 grid((unsigned)((N + BN - 1) / BN), (unsigned)((M + BM - 1) / BM));
    gemm_bias_relu_kernel<<<grid, THREADS, 0, at::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), w.data_ptr<float>(), bias.data_ptr<float>(), out.data_ptr<float>(), M, N, K);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

_ext = load_inline(
    name="hg_fixture_cuda_gemm_bias_relu",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["gemm_bias_relu"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.randn(out_features) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.gemm_bias_relu(x, self.linear.weight, self.bias)
