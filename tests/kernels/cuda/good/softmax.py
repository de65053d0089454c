"""Honest candidate for gpu/level1/23_Row_Softmax on the cuda platform.

One block per row. Pass 1: each thread keeps an online (max, sum-of-exp) pair over its strided
elements; the pairs are merged with warp shuffles, then across warps through shared memory. Pass 2
writes exp(x - max) / sum. Numerically stable for any input range.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor softmax_rows_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <cstdint>
#include <math.h>

constexpr int kThreads = 256;
constexpr int kWarp = 32;
constexpr int kWarps = kThreads / kWarp;

// Merge the online-softmax state (m2, s2) into (m, s).
__device__ __forceinline__ void merge_state(float& m, float& s, float m2, float s2) {
    const float mn = fmaxf(m, m2);
    if (mn == -INFINITY) {  // both empty: keep (-inf, 0) instead of producing NaN
        s = 0.0f;
    } else {
        s = s * expf(m - mn) + s2 * expf(m2 - mn);
    }
    m = mn;
}

__device__ __forceinline__ void warp_merge(float& m, float& s) {
    for (int off = kWarp / 2; off > 0; off >>= 1) {
        const float m2 = __shfl_xor_sync(0xffffffffu, m, off);
        const float s2 = __shfl_xor_sync(0xffffffffu, s, off);
        merge_state(m, s, m2, s2);
    }
}

__global__ void __launch_bounds__(kThreads)
softmax_rows_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t cols) {
    __shared__ float sh_m[kWarps];
    __shared__ float sh_s[kWarps];
    const int64_t row = blockIdx.x;
    const float* __restrict__ xr = x + row * cols;
    float* __restrict__ yr = y + row * cols;
    const int lane = threadIdx.x % kWarp;
    const int warp = threadIdx.x / kWarp;

    float m = -INFINITY;
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
        const float v = xr[c];
        if (v > m) {
            s = s * expf(m - v) + 1.0f;
            m = v;
        } else {
            s += expf(v - m);
        }
    }

    warp_merge(m, s);
    if (lane == 0) {
        sh_m[warp] = m;
        sh_s[warp] = s;
    }
    __syncthreads();
    if (warp == 0) {
        m = lane < kWarps ? sh_m[lane] : -INFINITY;
        s = lane < kWarps ? sh_s[lane] : 0.0f;
        warp_merge(m, s);
        if (lane == 0) {
            sh_m[0] = m;
            sh_s[0] = s;
        }
    }
    __syncthreads();
    const float row_max = sh_m[0];
    const float inv_sum = 1.0f / sh_s[0];

    for (int64_t c = threadIdx.x; c < cols; c += kThreads) {
        yr[c] = expf(xr[c] - row_max) * inv_sum;
    }
}

torch::Tensor softmax_rows_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "softmax_rows_forward: CUDA tensor expected");
    TORCH_CHECK(x.dim() == 2, "softmax_rows_forward: 2-D tensor expected (softmax over dim 1)");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "softmax_rows_forward: float32 expected");
    x = x.contiguous();
    auto y = torch::empty_like(x);
    const int64_t rows = x.size(0);
    const int64_t cols = x.size(1);
    if (rows == 0 || cols == 0) return y;
    TORCH_CHECK(rows <= 2147483647LL, "softmax_rows_forward: too many rows for a 1-D grid");
    cudaStream_t stream = at::cuda::getCurrentCUDAStream();
    softmax_rows_kernel<<<(unsigned int)rows, kThreads, 0, stream>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), cols);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="hg_fixture_cuda_softmax",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["softmax_rows_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.softmax_rows_forward(x)
