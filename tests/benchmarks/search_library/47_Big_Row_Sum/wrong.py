"""search_library 47_Big_Row_Sum, wrong: reduces over the wrong axis: output element r is the sum of column r down all rows instead of the sum of row r."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor row_sum_forward(torch::Tensor x, int64_t dim);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <cstdint>

// One thread per output; consecutive threads read consecutive columns, so the loads coalesce.
__global__ void row_sum_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t rows, int64_t cols) {
    const int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= rows) return;
    float s = 0.0f;
    for (int64_t r = 0; r < rows; ++r) s += x[r * cols + idx];
    out[idx] = s;
}

torch::Tensor row_sum_forward(torch::Tensor x, int64_t dim) {
    TORCH_CHECK(x.is_cuda(), "row_sum_forward: CUDA tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "row_sum_forward: float32 expected");
    TORCH_CHECK(x.dim() == 2 && (dim == 1 || dim == -1), "row_sum_forward: 2-D input summed over dim 1 expected");
    x = x.contiguous();
    const int64_t rows = x.size(0), cols = x.size(1);
    auto out = torch::empty({rows, 1}, x.options());
    if (out.numel() == 0) return out;
    const int threads = 256;
    row_sum_kernel<<<(unsigned)((rows + threads - 1) / threads), threads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), out.data_ptr<float>(), rows, cols);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

_ext = load_inline(
    name="hg_lib_47_Big_Row_Sum_wrong",
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
