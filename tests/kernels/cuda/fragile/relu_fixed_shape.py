"""Fragile (shape) for fragile/rand_relu_big on the cuda platform: a ReLU in which each thread handles one
float4 and nothing handles the remainder, so the last numel % 4 outputs are never written (it never
reads or writes out of bounds, and refuses misaligned pointers rather than fault). The benchmark's
4096 x 65536 is a multiple of 4, so its verdict is correct; on a shape whose element count is not
(3 x 5, say) the tail keeps whatever the allocator left there, so the kernel must come back correct,
timed, and fragile."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor relu_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <cstdint>

__device__ __forceinline__ float relu1(float v) { return v > 0.0f ? v : 0.0f; }

// One float4 per thread; the activation widths this is tuned for are multiples of 4.
__global__ void relu_float4_kernel(const float4* __restrict__ src, float4* __restrict__ dst, int64_t n4) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 v = src[i];
        v.x = relu1(v.x);
        v.y = relu1(v.y);
        v.z = relu1(v.z);
        v.w = relu1(v.w);
        dst[i] = v;
    }
}

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
                "relu_forward: contiguous CUDA float32 tensor expected");
    auto out = torch::empty_like(x);
    const float* src = x.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    TORCH_CHECK(((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst)) & 15) == 0,
                "relu_forward: 16-byte aligned tensors expected");
    const int64_t n4 = x.numel() / 4;
    if (n4 == 0) return out;
    const int threads = 256;
    const int64_t blocks = (n4 + threads - 1) / threads;
    TORCH_CHECK(blocks <= 2147483647LL, "relu_forward: tensor too large for a 1-D grid");
    relu_float4_kernel<<<(unsigned int)blocks, threads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        reinterpret_cast<const float4*>(src), reinterpret_cast<float4*>(dst), n4);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

_ext = load_inline(
    name="hg_fragile_cuda_relu_fixed_shape",
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
