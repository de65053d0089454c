"""Dishonest-by-accident HIP candidate: a row sum written with the CUDA warp idiom
`__shfl_xor_sync(0xffffffff, v, o)` and 32-lane offsets.

It must not compile on ROCm: HIP's *_sync warp builtins require a 64-bit lane mask (ROCm >= 6.2
static_asserts it), and HIP 5.2 has no *_sync builtins at all. Even where it compiled, a 32-bit mask and
offsets 16..1 would reduce half a 64-lane wavefront.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor row_sum_forward(torch::Tensor x, int64_t stream);"

hip_source = r"""
#include <hip/hip_runtime.h>
#include <torch/types.h>

__global__ void row_sum_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t cols) {
    const float* row = x + (int64_t)blockIdx.x * cols;
    float v = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) v += row[c];
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffff, v, off);
    if (threadIdx.x == 0) y[blockIdx.x] = v;
}

torch::Tensor row_sum_forward(torch::Tensor x, int64_t stream_handle) {
    TORCH_CHECK(x.is_cuda() && x.dim() == 2 && x.scalar_type() == torch::kFloat32, "row_sum_forward: 2-D float32 GPU tensor");
    x = x.contiguous();
    auto y = torch::empty({x.size(0)}, x.options());
    hipLaunchKernelGGL(row_sum_kernel, dim3(x.size(0)), dim3(32), 0, reinterpret_cast<hipStream_t>(stream_handle),
                       x.data_ptr<float>(), y.data_ptr<float>(), x.size(1));
    return y;
}
"""

_ext = load_inline(
    name="hg_fixture_hip_bad_shfl_sync",
    cpp_sources=cpp_source,
    cuda_sources=hip_source,
    functions=["row_sum_forward"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.row_sum_forward(x, torch.cuda.current_stream(x.device).cuda_stream)
