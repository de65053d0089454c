"""search_library 23_Row_Softmax, medium: one 256-thread block per row, scalar loads, shared-memory tree reductions for max and sum, three passes over the row."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor softmax_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <climits>
#include <cmath>
#include <cstdint>

constexpr int THREADS = 256;

// x viewed as (outer, n, inner) with the softmax taken over n; one block per (outer, inner) line.
__global__ void softmax_block_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n, int64_t inner) {
    __shared__ float red[THREADS];
    const int64_t line = blockIdx.x;
    const int64_t o = line / inner, i = line % inner;
    const float* xr = x + o * n * inner + i;
    float* yr = y + o * n * inner + i;
    const int tid = threadIdx.x;

    float m = -INFINITY;
    for (int64_t r = tid; r < n; r += THREADS) m = fmaxf(m, xr[r * inner]);
    red[tid] = m;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) red[tid] = fmaxf(red[tid], red[tid + s]);
        __syncthreads();
    }
    const float row_max = red[0];
    __syncthreads();

    float sum = 0.0f;
    for (int64_t r = tid; r < n; r += THREADS) sum += expf(xr[r * inner] - row_max);
    red[tid] = sum;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) red[tid] += red[tid + s];
        __syncthreads();
    }
    const float inv = 1.0f / red[0];

    for (int64_t r = tid; r < n; r += THREADS) yr[r * inner] = expf(xr[r * inner] - row_max) * inv;
}

torch::Tensor softmax_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "softmax_forward: CUDA tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "softmax_forward: float32 expected");
    TORCH_CHECK(x.dim() >= 2, "softmax_forward: softmax over dim 1 needs at least 2 dimensions");
    x = x.contiguous();
    auto y = torch::empty_like(x);
    if (x.numel() == 0) return y;
    const int64_t outer = x.size(0), n = x.size(1), inner = x.numel() / (outer * n);
    const int64_t lines = outer * inner;
    TORCH_CHECK(lines <= INT_MAX, "softmax_forward: too many rows");
    softmax_block_kernel<<<(unsigned)lines, THREADS, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), n, inner);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="hg_lib_23_Row_Softmax_medium",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["softmax_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.softmax_forward(x)
