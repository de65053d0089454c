"""Fragile (values) for fragile/rand_relu_big on the cuda platform: the "ReLU" kernel copies its input to
a fresh output unchanged (float4 bulk, scalar tail, current stream). The benchmark draws torch.rand
(every value >= 0), where ReLU is the identity, so its verdict is correct; on any negative value the
output is wrong (an input with random signs shows it), so the kernel must come back correct, timed,
and fragile."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor relu_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <algorithm>
#include <cstdint>

// The inputs are activations in [0, 1): the clamp at zero never fires, so the kernel only moves data.
__global__ void relu_copy_vec4_kernel(const float4* __restrict__ src, float4* __restrict__ dst, int64_t n4) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) dst[i] = src[i];
}

__global__ void relu_copy_tail_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t begin,
                                      int64_t n) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = begin + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) dst[i] = src[i];
}

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
                "relu_forward: contiguous CUDA float32 tensor expected");
    auto out = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n == 0) return out;
    const float* src = x.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    const int threads = 256;
    const bool aligned = ((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst)) & 15) == 0;
    const int64_t n4 = aligned ? n / 4 : 0;
    if (n4 > 0) {
        const int blocks = (int)std::min<int64_t>((n4 + threads - 1) / threads, 65535);
        relu_copy_vec4_kernel<<<blocks, threads, 0, stream>>>(
            reinterpret_cast<const float4*>(src), reinterpret_cast<float4*>(dst), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    const int64_t begin = n4 * 4;
    if (begin < n) {
        const int blocks = (int)std::min<int64_t>((n - begin + threads - 1) / threads, 65535);
        relu_copy_tail_kernel<<<blocks, threads, 0, stream>>>(src, dst, begin, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_fragile_cuda_relu_identity",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["relu_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.relu_forward(x.contiguous())
