"""search_library 20_Big_Sigmoid, fast: float4 streaming loads and stores, four float4 in flight per thread, __expf and a rounded reciprocal, scalar kernel for the tail or unaligned data."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor sigmoid_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>
#include <algorithm>
#include <climits>
#include <cstdint>

constexpr int THREADS = 256;
constexpr int UNROLL = 4;  // float4 per thread, all loaded before any is stored

// e^-v overflows to +inf for v < -88, and 1/inf is 0, the right limit; e^-v -> 0 gives 1 for large v.
__device__ __forceinline__ float sigmoid1(float v) { return __frcp_rn(1.0f + __expf(-v)); }

__global__ void __launch_bounds__(THREADS) sigmoid_vec4_kernel(const float4* __restrict__ src, float4* __restrict__ dst, int64_t n4) {
    const int64_t base = (int64_t)blockIdx.x * (THREADS * UNROLL) + threadIdx.x;
    float4 v[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
        const int64_t i = base + (int64_t)u * THREADS;
        if (i < n4) v[u] = __ldcs(src + i);
    }
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
        const int64_t i = base + (int64_t)u * THREADS;
        if (i < n4) {
            float4 r;
            r.x = sigmoid1(v[u].x);
            r.y = sigmoid1(v[u].y);
            r.z = sigmoid1(v[u].z);
            r.w = sigmoid1(v[u].w);
            __stcs(dst + i, r);
        }
    }
}

__global__ void sigmoid_scalar_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t begin, int64_t n) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = begin + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        dst[i] = sigmoid1(src[i]);
    }
}

torch::Tensor sigmoid_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "sigmoid_forward: CUDA tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "sigmoid_forward: float32 expected");
    const c10::cuda::CUDAGuard guard(x.device());
    x = x.contiguous();
    auto out = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n == 0) return out;
    const float* src = x.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();

    const bool aligned = ((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst)) & 15) == 0;
    const int64_t n4 = aligned ? n / 4 : 0;
    if (n4 > 0) {
        const int64_t blocks = (n4 + THREADS * UNROLL - 1) / (THREADS * UNROLL);
        TORCH_CHECK(blocks <= INT_MAX, "sigmoid_forward: tensor too large");
        sigmoid_vec4_kernel<<<(unsigned)blocks, THREADS, 0, stream>>>(
            reinterpret_cast<const float4*>(src), reinterpret_cast<float4*>(dst), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    const int64_t begin = n4 * 4;
    if (begin < n) {
        const int blocks = (int)std::min<int64_t>((n - begin + THREADS - 1) / THREADS, 4096);
        sigmoid_scalar_kernel<<<blocks, THREADS, 0, stream>>>(src, dst, begin, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_lib_20_Big_Sigmoid_fast",
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
