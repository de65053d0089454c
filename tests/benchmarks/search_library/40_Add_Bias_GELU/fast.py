"""search_library 40_Add_Bias_GELU, fast: fused bias add and erf GELU in one pass; each thread keeps its float4 of bias in registers and streams eight rows of x, no per-element modulo; scalar variant when the row length is not a multiple of 4."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor bias_gelu_forward(torch::Tensor x, torch::Tensor bias);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>
#include <algorithm>
#include <climits>
#include <cstdint>

constexpr int ROWS_PER_BLOCK = 8;  // rows a block covers per step of its row loop, all loaded before any is stored
constexpr int MAX_THREADS = 256;

__device__ __forceinline__ float gelu_erf(float v) {
    return 0.5f * v * (1.0f + erff(v * 0.70710678118654752440f));
}

// x as (rows, cols4) float4; grid.x tiles the columns, grid.y strides over groups of ROWS_PER_BLOCK rows.
__global__ void __launch_bounds__(MAX_THREADS) bias_gelu_vec4_kernel(const float4* __restrict__ x, const float4* __restrict__ bias,
                                                                   float4* __restrict__ y, int64_t rows, int64_t cols4) {
    const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols4) return;
    const float4 b = __ldg(bias + c);
    for (int64_t r0 = (int64_t)blockIdx.y * ROWS_PER_BLOCK; r0 < rows; r0 += (int64_t)gridDim.y * ROWS_PER_BLOCK) {
        float4 v[ROWS_PER_BLOCK];
#pragma unroll
        for (int k = 0; k < ROWS_PER_BLOCK; ++k) {
            if (r0 + k < rows) v[k] = __ldcs(x + (r0 + k) * cols4 + c);
        }
#pragma unroll
        for (int k = 0; k < ROWS_PER_BLOCK; ++k) {
            if (r0 + k < rows) {
                float4 o;
                o.x = gelu_erf(v[k].x + b.x);
                o.y = gelu_erf(v[k].y + b.y);
                o.z = gelu_erf(v[k].z + b.z);
                o.w = gelu_erf(v[k].w + b.w);
                __stcs(y + (r0 + k) * cols4 + c, o);
            }
        }
    }
}

// The same tiling with scalar loads, for any row length or alignment.
__global__ void __launch_bounds__(MAX_THREADS) bias_gelu_scalar_kernel(const float* __restrict__ x, const float* __restrict__ bias,
                                                                     float* __restrict__ y, int64_t rows, int64_t cols) {
    const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    const float b = __ldg(bias + c);
    for (int64_t r0 = (int64_t)blockIdx.y * ROWS_PER_BLOCK; r0 < rows; r0 += (int64_t)gridDim.y * ROWS_PER_BLOCK) {
        float v[ROWS_PER_BLOCK];
#pragma unroll
        for (int k = 0; k < ROWS_PER_BLOCK; ++k) {
            if (r0 + k < rows) v[k] = __ldcs(x + (r0 + k) * cols + c);
        }
#pragma unroll
        for (int k = 0; k < ROWS_PER_BLOCK; ++k) {
            if (r0 + k < rows) __stcs(y + (r0 + k) * cols + c, gelu_erf(v[k] + b));
        }
    }
}

torch::Tensor bias_gelu_forward(torch::Tensor x, torch::Tensor bias) {
    TORCH_CHECK(x.is_cuda() && bias.is_cuda(), "bias_gelu_forward: CUDA tensors expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 && bias.scalar_type() == torch::kFloat32,
                "bias_gelu_forward: float32 expected");
    TORCH_CHECK(x.dim() >= 1 && bias.dim() == 1 && x.size(-1) == bias.size(0),
                "bias_gelu_forward: bias must match the last dimension of x");
    TORCH_CHECK(x.device() == bias.device(), "bias_gelu_forward: x and bias must be on the same device");
    const c10::cuda::CUDAGuard guard(x.device());
    x = x.contiguous();
    bias = bias.contiguous();
    auto y = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n == 0) return y;
    const int64_t cols = bias.size(0);
    const int64_t rows = n / cols;
    const float* px = x.data_ptr<float>();
    const float* pb = bias.data_ptr<float>();
    float* py = y.data_ptr<float>();
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();

    const bool aligned = ((reinterpret_cast<uintptr_t>(px) | reinterpret_cast<uintptr_t>(pb) |
                           reinterpret_cast<uintptr_t>(py)) & 15) == 0;
    const bool vec = aligned && cols % 4 == 0;
    const int64_t width = vec ? cols / 4 : cols;  // threads needed across a row
    const int threads = (int)std::min<int64_t>(MAX_THREADS, (width + 31) / 32 * 32);
    const int64_t gx = (width + threads - 1) / threads;
    const int64_t gy = std::min<int64_t>((rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK, 65535);
    TORCH_CHECK(gx <= INT_MAX, "bias_gelu_forward: rows too long");
    const dim3 grid((unsigned)gx, (unsigned)gy);
    if (vec) {
        bias_gelu_vec4_kernel<<<grid, threads, 0, stream>>>(
            reinterpret_cast<const float4*>(px), reinterpret_cast<const float4*>(pb), reinterpret_cast<float4*>(py), rows, width);
    } else {
        bias_gelu_scalar_kernel<<<grid, threads, 0, stream>>>(px, pb, py, rows, cols);
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="hg_lib_40_Add_Bias_GELU_fast",
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
