"""Fragile (range) for gpu/level1/23_Row_Softmax on the cuda platform: one block per row computes
exp(x) / sum(exp(x)) with a shared-memory reduction, launched on the current stream, for any row
length, but without subtracting the row maximum. The benchmark draws torch.rand (values in [0, 1)),
where nothing overflows, so its verdict is correct; a row holding a large value such as 1e20 overflows
exp to inf and the row becomes NaN, so the kernel must come back correct, timed, and fragile."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor softmax_rows_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <cstdint>
#include <math.h>

constexpr int kThreads = 256;

// No max pass: the inputs are in [0, 1), so exp(x) stays small and one reduction is enough.
__global__ void __launch_bounds__(kThreads)
softmax_rows_no_max_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t cols) {
    __shared__ float partial[kThreads];
    const float* __restrict__ xr = x + (int64_t)blockIdx.x * cols;
    float* __restrict__ yr = y + (int64_t)blockIdx.x * cols;

    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) s += expf(xr[c]);
    partial[threadIdx.x] = s;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    const float inv_sum = 1.0f / partial[0];

    for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = expf(xr[c]) * inv_sum;
}

torch::Tensor softmax_rows_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.dim() == 2 && x.scalar_type() == torch::kFloat32,
                "softmax_rows_forward: 2-D CUDA float32 tensor expected (softmax over dim 1)");
    x = x.contiguous();
    auto y = torch::empty_like(x);
    const int64_t rows = x.size(0);
    const int64_t cols = x.size(1);
    if (rows == 0 || cols == 0) return y;
    TORCH_CHECK(rows <= 2147483647LL, "softmax_rows_forward: too many rows for a 1-D grid");
    softmax_rows_no_max_kernel<<<(unsigned int)rows, kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), cols);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="hg_fragile_cuda_softmax_no_max",
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
