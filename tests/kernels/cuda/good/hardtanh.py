"""Honest candidate for gpu/level1/29_Clamp_HardTanh on the cuda platform: min(max(x, lo), hi),
the bounds kernel arguments taken from the model's init inputs.
float4 path for the aligned bulk, scalar tail, int64 offsets, grid-stride loops, current stream.
Threads per block come from the Python side (BLOCK), so variants that differ only there share one build.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

BLOCK = 256

cpp_source = "torch::Tensor hardtanh_forward(torch::Tensor x, double lo, double hi, int64_t threads);"

cuda_source = r"""
#include <torch/types.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <algorithm>
#include <cstdint>

__device__ __forceinline__ float hardtanh1(float v, float lo, float hi) { return fminf(fmaxf(v, lo), hi); }

__global__ void hardtanh_vec4_kernel(const float4* __restrict__ src, float4* __restrict__ dst,
                                     int64_t n4, float lo, float hi) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        float4 v = src[i];
        v.x = hardtanh1(v.x, lo, hi);
        v.y = hardtanh1(v.y, lo, hi);
        v.z = hardtanh1(v.z, lo, hi);
        v.w = hardtanh1(v.w, lo, hi);
        dst[i] = v;
    }
}

__global__ void hardtanh_scalar_kernel(const float* __restrict__ src, float* __restrict__ dst,
                                       int64_t begin, int64_t n, float lo, float hi) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = begin + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        dst[i] = hardtanh1(src[i], lo, hi);
    }
}

torch::Tensor hardtanh_forward(torch::Tensor x, double lo, double hi, int64_t threads) {
    TORCH_CHECK(x.is_cuda(), "hardtanh_forward: CUDA tensor expected");
    TORCH_CHECK(x.is_contiguous(), "hardtanh_forward: contiguous tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "hardtanh_forward: float32 expected");
    TORCH_CHECK(threads >= 32 && threads <= 1024 && threads % 32 == 0,
                "hardtanh_forward: threads per block must be a multiple of 32 in [32, 1024], got ", threads);
    TORCH_CHECK(lo <= hi, "hardtanh_forward: expected lo <= hi");
    auto out = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n == 0) return out;

    const float* src = x.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    cudaStream_t stream = at::cuda::getCurrentCUDAStream();
    const int64_t max_blocks = (int64_t)at::cuda::getCurrentDeviceProperties()->multiProcessorCount * 8;

    const bool aligned = ((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst)) & 15) == 0;
    const int64_t n4 = aligned ? n / 4 : 0;
    if (n4 > 0) {
        const int blocks = (int)std::min<int64_t>((n4 + threads - 1) / threads, max_blocks);
        hardtanh_vec4_kernel<<<blocks, (unsigned)threads, 0, stream>>>(
            reinterpret_cast<const float4*>(src), reinterpret_cast<float4*>(dst), n4, (float)lo, (float)hi);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    const int64_t begin = n4 * 4;
    if (begin < n) {
        const int blocks = (int)std::min<int64_t>((n - begin + threads - 1) / threads, max_blocks);
        hardtanh_scalar_kernel<<<blocks, (unsigned)threads, 0, stream>>>(src, dst, begin, n, (float)lo, (float)hi);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_fixture_cuda_hardtanh",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["hardtanh_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, min_val: float, max_val: float):
        super().__init__()
        self.min_val = float(min_val)
        self.max_val = float(max_val)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.hardtanh_forward(x.contiguous(), self.min_val, self.max_val, BLOCK)
