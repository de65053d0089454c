"""search_library 20_Big_Sigmoid, wrong: float4 "numerically stable" sigmoid whose negative branch returns 1/(1+e^x) instead of e^x/(1+e^x)."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor sigmoid_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <algorithm>
#include <cstdint>

// Avoids overflow in expf by branching on the sign.
__device__ __forceinline__ float stable_sigmoid(float v) {
    if (v >= 0.0f) {
        return 1.0f / (1.0f + expf(-v));
    }
    const float e = expf(v);
    return 1.0f / (1.0f + e);
}

__global__ void sigmoid_vec4_kernel(const float4* __restrict__ src, float4* __restrict__ dst, int64_t n4) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        const float4 v = src[i];
        float4 r;
        r.x = stable_sigmoid(v.x);
        r.y = stable_sigmoid(v.y);
        r.z = stable_sigmoid(v.z);
        r.w = stable_sigmoid(v.w);
        dst[i] = r;
    }
}

__global__ void sigmoid_tail_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t begin, int64_t n) {
    const int64_t i = begin + (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = stable_sigmoid(src[i]);
}

torch::Tensor sigmoid_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "sigmoid_forward: CUDA tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "sigmoid_forward: float32 expected");
    x = x.contiguous();
    auto out = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n == 0) return out;
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const int threads = 256;
    const int64_t n4 = n / 4;
    if (n4 > 0) {
        const int blocks = (int)std::min<int64_t>((n4 + threads - 1) / threads, 8192);
        sigmoid_vec4_kernel<<<blocks, threads, 0, stream>>>(
            reinterpret_cast<const float4*>(x.data_ptr<float>()), reinterpret_cast<float4*>(out.data_ptr<float>()), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n4 * 4 < n) {
        sigmoid_tail_kernel<<<1, 32, 0, stream>>>(x.data_ptr<float>(), out.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_lib_20_Big_Sigmoid_wrong",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["sigmoid_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.sigmoid_forward(x)
