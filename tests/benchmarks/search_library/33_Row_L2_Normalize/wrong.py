"""search_library 33_Row_L2_Normalize, wrong: 256 threads per row but only a warp-shuffle reduction, so each warp divides its elements by the norm of its own eighth of the row."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor l2_normalize_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <cmath>
#include <cstdint>

constexpr int THREADS = 256;

__device__ __forceinline__ float warp_reduce_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

__global__ void l2_normalize_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t cols) {
    const float* xr = x + (int64_t)blockIdx.x * cols;
    float* yr = y + (int64_t)blockIdx.x * cols;
    float ss = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += THREADS) {
        const float v = xr[c];
        ss += v * v;
    }
    ss = warp_reduce_sum(ss);
    ss = __shfl_sync(0xffffffffu, ss, 0);  // broadcast the row's sum of squares
    const float inv = 1.0f / sqrtf(ss);
    for (int64_t c = threadIdx.x; c < cols; c += THREADS) yr[c] = xr[c] * inv;
}

torch::Tensor l2_normalize_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "l2_normalize_forward: CUDA tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "l2_normalize_forward: float32 expected");
    TORCH_CHECK(x.dim() == 2, "l2_normalize_forward: 2-D input expected");
    x = x.contiguous();
    auto y = torch::empty_like(x);
    if (x.numel() == 0) return y;
    l2_normalize_kernel<<<(unsigned)x.size(0), THREADS, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), x.size(1));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="hg_lib_33_Row_L2_Normalize_wrong",
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
