"""search_library 33_Row_L2_Normalize, medium: one 256-thread block per row, scalar loads, shared-memory tree reduction of the sum of squares, then a second pass that divides."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor l2_normalize_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <climits>
#include <cmath>
#include <cstdint>

constexpr int THREADS = 256;

// x viewed as (outer, n, inner), normalised over n; one block per (outer, inner) line.
__global__ void l2_normalize_block_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n, int64_t inner) {
    __shared__ float red[THREADS];
    const int64_t line = blockIdx.x;
    const int64_t o = line / inner, i = line % inner;
    const float* xr = x + o * n * inner + i;
    float* yr = y + o * n * inner + i;
    const int tid = threadIdx.x;

    float ss = 0.0f;
    for (int64_t r = tid; r < n; r += THREADS) {
        const float v = xr[r * inner];
        ss += v * v;
    }
    red[tid] = ss;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) red[tid] += red[tid + s];
        __syncthreads();
    }
    const float norm = sqrtf(red[0]);
    for (int64_t r = tid; r < n; r += THREADS) yr[r * inner] = xr[r * inner] / norm;
}

torch::Tensor l2_normalize_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "l2_normalize_forward: CUDA tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "l2_normalize_forward: float32 expected");
    TORCH_CHECK(x.dim() >= 2, "l2_normalize_forward: a norm over dim 1 needs at least 2 dimensions");
    x = x.contiguous();
    auto y = torch::empty_like(x);
    if (x.numel() == 0) return y;
    const int64_t outer = x.size(0), n = x.size(1), inner = x.numel() / (outer * n);
    const int64_t lines = outer * inner;
    TORCH_CHECK(lines <= INT_MAX, "l2_normalize_forward: too many rows");
    l2_normalize_block_kernel<<<(unsigned)lines, THREADS, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), n, inner);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="hg_lib_33_Row_L2_Normalize_medium",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["l2_normalize_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.l2_normalize_forward(x)
