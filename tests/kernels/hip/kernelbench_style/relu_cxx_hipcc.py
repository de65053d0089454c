"""Honest HIP candidate in the style of KernelBench's HIP examples: fp32 ReLU, with
`os.environ["CXX"] = "hipcc"` at the top of the file. The source rules let that one line through, and
the harness takes it out before the build (it picks the compiler itself) and says so in the build result.

Grid-stride loop, int64 offsets, launched on torch's current stream (passed from Python as an int).
NaN stays NaN, as in torch.relu.
"""
import os

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

os.environ["CXX"] = "hipcc"

cpp_source = "torch::Tensor relu_forward(torch::Tensor x, int64_t stream);"

hip_source = r"""
#include <hip/hip_runtime.h>
#include <torch/types.h>
#include <algorithm>
#include <cstdint>

__global__ void relu_f32(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = x[i];
        y[i] = v < 0.0f ? 0.0f : v;   // NaN compares false: it passes through
    }
}

torch::Tensor relu_forward(torch::Tensor x, int64_t stream_handle) {
    TORCH_CHECK(x.is_cuda(), "relu_forward: a GPU tensor is expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: float32 expected");
    x = x.contiguous();
    auto y = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n == 0) return y;
    const int threads = 256;   // four 64-lane wavefronts
    const int blocks = (int)std::min<int64_t>((n + threads - 1) / threads, 4096);
    hipLaunchKernelGGL(relu_f32, dim3(blocks), dim3(threads), 0, reinterpret_cast<hipStream_t>(stream_handle),
                       x.data_ptr<float>(), y.data_ptr<float>(), n);
    hipError_t err = hipGetLastError();
    TORCH_CHECK(err == hipSuccess, "relu_f32 launch failed: ", hipGetErrorString(err));
    return y;
}
"""

_ext = load_inline(
    name="hg_fixture_hip_relu_cxx_hipcc",
    cpp_sources=cpp_source,
    cuda_sources=hip_source,
    functions=["relu_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.relu_forward(x, torch.cuda.current_stream(x.device).cuda_stream)
