"""search_library 47_Big_Row_Sum, slow: one thread per output row summing the whole row serially into a double, uncoalesced loads."""

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

// x viewed as (outer, n, inner), summed over n; one thread per (outer, inner) output.
__global__ void sum_serial_kernel(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
    const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= outer * inner) return;
    const int64_t o = t / inner, i = t % inner;
    const float* p = x + o * n * inner + i;
    double s = 0.0;
    for (int64_t r = 0; r < n; ++r) s += (double)p[r * inner];
    out[t] = (float)s;
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
    if (out.numel() == 0) return out;
    const int threads = 128;
    const int64_t blocks = (outer * inner + threads - 1) / threads;
    TORCH_CHECK(blocks <= INT_MAX, "row_sum_forward: too many outputs");
    sum_serial_kernel<<<(unsigned)blocks, threads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), out.data_ptr<float>(), outer, n, inner);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

_ext = load_inline(
    name="hg_lib_47_Big_Row_Sum_slow",
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
