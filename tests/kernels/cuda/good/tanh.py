"""Honest candidate for gpu/level1/22_Big_Tanh on the cuda platform: float4 loads and stores for the
aligned bulk, a scalar tail, tanhf in fp32 (max error 2 ulp), grid-stride loops, current stream."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor tanh_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <algorithm>
#include <cstdint>

__global__ void tanh_vec4_kernel(const float4* __restrict__ src, float4* __restrict__ dst, int64_t n4) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        float4 v = src[i];
        v.x = tanhf(v.x);
        v.y = tanhf(v.y);
        v.z = tanhf(v.z);
        v.w = tanhf(v.w);
        dst[i] = v;
    }
}

__global__ void tanh_scalar_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t begin, int64_t n) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = begin + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        dst[i] = tanhf(src[i]);
    }
}

torch::Tensor tanh_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
                "tanh_forward: contiguous CUDA float32 tensor expected");
    auto out = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n == 0) return out;
    const float* src = x.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    int sms = 0;
    C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, x.get_device()));
    const int threads = 256;
    const int64_t max_blocks = (int64_t)std::max(sms, 1) * 8;
    const bool aligned = ((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst)) & 15) == 0;
    const int64_t n4 = aligned ? n / 4 : 0;
    if (n4 > 0) {
        const int blocks = (int)std::min<int64_t>((n4 + threads - 1) / threads, max_blocks);
        tanh_vec4_kernel<<<blocks, threads, 0, stream>>>(reinterpret_cast<const float4*>(src),
                                                         reinterpret_cast<float4*>(dst), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n4 * 4 < n) {
        const int blocks = (int)std::min<int64_t>((n - n4 * 4 + threads - 1) / threads, max_blocks);
        tanh_scalar_kernel<<<blocks, threads, 0, stream>>>(src, dst, n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_fixture_cuda_tanh",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["tanh_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.tanh_forward(x.contiguous())
