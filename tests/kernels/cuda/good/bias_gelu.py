"""Honest candidate for gpu/level1/40_Add_Bias_GELU on the cuda platform.

One fused pass: y = gelu(x + bias) with the exact erf GELU, float4 path when the row length is a
multiple of 4 and the pointers are 16-byte aligned, scalar path otherwise; int64 offsets.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor bias_gelu_forward(torch::Tensor x, torch::Tensor bias);"

cuda_source = r"""
#include <torch/types.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <algorithm>
#include <cstdint>

__device__ __forceinline__ float gelu_erf(float v) {
    return 0.5f * v * (1.0f + erff(v * 0.70710678118654752440f));
}

// n4 = number of float4 groups; cols4 = cols / 4 (cols is a multiple of 4 on this path).
__global__ void bias_gelu_vec4_kernel(const float4* __restrict__ x, const float4* __restrict__ bias,
                                      float4* __restrict__ y, int64_t n4, int64_t cols4) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        const float4 v = x[i];
        const float4 b = bias[i % cols4];
        float4 r;
        r.x = gelu_erf(v.x + b.x);
        r.y = gelu_erf(v.y + b.y);
        r.z = gelu_erf(v.z + b.z);
        r.w = gelu_erf(v.w + b.w);
        y[i] = r;
    }
}

__global__ void bias_gelu_scalar_kernel(const float* __restrict__ x, const float* __restrict__ bias,
                                        float* __restrict__ y, int64_t n, int64_t cols) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        y[i] = gelu_erf(x[i] + bias[i % cols]);
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
    auto y = torch::empty_like(x);
    const int64_t n = x.numel();
    const int64_t cols = bias.size(0);
    if (n == 0) return y;

    const float* px = x.data_ptr<float>();
    const float* pb = bias.data_ptr<float>();
    float* py = y.data_ptr<float>();
    cudaStream_t stream = at::cuda::getCurrentCUDAStream();
    const int threads = 256;
    const int64_t max_blocks = (int64_t)at::cuda::getCurrentDeviceProperties()->multiProcessorCount * 8;

    const bool aligned = ((reinterpret_cast<uintptr_t>(px) | reinterpret_cast<uintptr_t>(pb) |
                           reinterpret_cast<uintptr_t>(py)) & 15) == 0;
    if (aligned && cols % 4 == 0) {
        const int64_t n4 = n / 4;
        const int blocks = (int)std::min<int64_t>((n4 + threads - 1) / threads, max_blocks);
        bias_gelu_vec4_kernel<<<blocks, threads, 0, stream>>>(
            reinterpret_cast<const float4*>(px), reinterpret_cast<const float4*>(pb),
            reinterpret_cast<float4*>(py), n4, cols / 4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    } else {
        const int blocks = (int)std::min<int64_t>((n + threads - 1) / threads, max_blocks);
        bias_gelu_scalar_kernel<<<blocks, threads, 0, stream>>>(px, pb, py, n, cols);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return y;
}
"""

_ext = load_inline(
    name="hg_fixture_cuda_bias_gelu",
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
