"""search_library 47_Big_Row_Sum, medium: one 256-thread block per output row, scalar strided loads, shared-memory tree reduction."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor row_sum_forward(torch::Tensor x, int64_t dim);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <climits>
#include <cstdint>
#include <vector>

constexpr int THREADS = 256;

// x viewed as (outer, n, inner), summed over n; one block per (outer, inner) output.
__global__ void sum_block_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t n, int64_t inner) {
    __shared__ float red[THREADS];
    const int64_t line = blockIdx.x;
    const int64_t o = line / inner, i = line % inner;
    const float* p = x + o * n * inner + i;
    const int tid = threadIdx.x;
    float s = 0.0f;
    for (int64_t r = tid; r < n; r += THREADS) s += p[r * inner];
    red[tid] = s;
    __syncthreads();
    for (int k = THREADS / 2; k > 0; k >>= 1) {
        if (tid < k) red[tid] += red[tid + k];
        __syncthreads();
    }
    if (tid == 0) out[line] = red[0];
}

torch::Tensor row_sum_forward(torch::Tensor x, int64_t dim) {
    TORCH_CHECK(x.is_cuda(), "row_sum_forward: CUDA tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "row_sum_forward: float32 expected");
    TORCH_CHECK(x.dim() >= 1, "row_sum_forward: at least 1 dimension expected");
    const int64_t d = dim < 0 ? dim + x.dim() : dim;
    TORCH_CHECK(d >= 0 && d < x.dim(), "row_sum_forward: dim out of range");
    x = x.contiguous();
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
    const int64_t n = shape[d];
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < d; ++k) outer *= shape[k];
    for (int64_t k = d + 1; k < x.dim(); ++k) inner *= shape[k];
    shape[d] = 1;
    auto out = torch::empty(shape, x.options());
    const int64_t lines = outer * inner;
    if (lines == 0) return out;
    TORCH_CHECK(lines <= INT_MAX, "row_sum_forward: too many outputs");
    sum_block_kernel<<<(unsigned)lines, THREADS, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), out.data_ptr<float>(), n, inner);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

_ext = load_inline(
    name="hg_lib_47_Big_Row_Sum_medium",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["row_sum_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.row_sum_forward(x, self.dim)
