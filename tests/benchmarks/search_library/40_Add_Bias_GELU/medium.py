"""search_library 40_Add_Bias_GELU, medium: two unfused one-element-per-thread kernels (bias add into a temporary, then erf GELU), scalar coalesced loads, the same memory traffic as PyTorch."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor bias_gelu_forward(torch::Tensor x, torch::Tensor bias);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <climits>
#include <cstdint>

__global__ void add_bias_kernel(const float* __restrict__ x, const float* __restrict__ bias, float* __restrict__ t,
                                int64_t n, int64_t cols) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) t[i] = x[i] + bias[i % cols];
}

__global__ void gelu_kernel(const float* __restrict__ t, float* __restrict__ y, int64_t n) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const float v = t[i];
        y[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752440f));
    }
}

torch::Tensor bias_gelu_forward(torch::Tensor x, torch::Tensor bias) {
    TORCH_CHECK(x.is_cuda() && bias.is_cuda(), "bias_gelu_forward: CUDA tensors expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 && bias.scalar_type() == torch::kFloat32,
                "bias_gelu_forward: float32 expected");
    TORCH_CHECK(x.dim() >= 1 && bias.dim() == 1 && x.size(-1) == bias.size(0),
                "bias_gelu_forward: bias must match the last dimension of x");
    x = x.contiguous();
    bias = bias.contiguous();
    auto t = torch::empty_like(x);
    auto y = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n == 0) return y;
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const int threads = 256;
    const int64_t blocks = (n + threads - 1) / threads;
    TORCH_CHECK(blocks <= INT_MAX, "bias_gelu_forward: tensor too large for a one-element-per-thread grid");
    add_bias_kernel<<<(unsigned)blocks, threads, 0, stream>>>(
        x.data_ptr<float>(), bias.data_ptr<float>(), t.data_ptr<float>(), n, bias.size(0));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    gelu_kernel<<<(unsigned)blocks, threads, 0, stream>>>(t.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="hg_lib_40_Add_Bias_GELU_medium",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["bias_gelu_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return _ext.bias_gelu_forward(x, bias)
