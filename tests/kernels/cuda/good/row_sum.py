"""Honest candidate for gpu/level1/47_Big_Row_Sum on the cuda platform: one block per row, each thread
accumulates a strided slice of the row in double (so rows whose sum is near zero still meet atol),
a warp-shuffle then shared-memory reduction, one store per row. No scratch buffer, current stream."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor row_sum_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <cstdint>

constexpr int kThreads = 512;

__global__ void __launch_bounds__(kThreads) row_sum_kernel(const float* __restrict__ x, float* __restrict__ out,
                                                           int64_t cols) {
    const float* __restrict__ row = x + (int64_t)blockIdx.x * cols;
    double s = 0.0;
    if ((cols & 3) == 0) {
        const float4* __restrict__ row4 = reinterpret_cast<const float4*>(row);
        for (int64_t c = threadIdx.x; c < cols / 4; c += kThreads) {
            const float4 v = row4[c];
            s += ((double)v.x + (double)v.y) + ((double)v.z + (double)v.w);
        }
    } else {
        for (int64_t c = threadIdx.x; c < cols; c += kThreads) s += (double)row[c];
    }
    for (int off = 16; off > 0; off >>= 1) s += __shfl_down_sync(0xffffffffu, s, off);
    __shared__ double warp_sums[kThreads / 32];
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x < 32) {
        s = threadIdx.x < kThreads / 32 ? warp_sums[threadIdx.x] : 0.0;
        for (int off = 16; off > 0; off >>= 1) s += __shfl_down_sync(0xffffffffu, s, off);
        if (threadIdx.x == 0) out[blockIdx.x] = (float)s;
    }
}

torch::Tensor row_sum_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.dim() == 2 && x.scalar_type() == torch::kFloat32,
                "row_sum_forward: 2-D CUDA float32 tensor expected");
    x = x.contiguous();
    const int64_t rows = x.size(0), cols = x.size(1);
    TORCH_CHECK(rows <= 2147483647LL, "row_sum_forward: too many rows");
    auto out = torch::empty({rows, 1}, x.options());
    if (rows == 0) return out;
    if (cols == 0) return out.zero_();
    row_sum_kernel<<<(unsigned)rows, kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), out.data_ptr<float>(), cols);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

_ext = load_inline(
    name="hg_fixture_cuda_row_sum",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["row_sum_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        if dim not in (1, -1):
            raise ValueError("this kernel reduces over dim 1 of a 2-D tensor")
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.row_sum_forward(x)
