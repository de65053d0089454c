"""search_library 47_Big_Row_Sum, fast: one block per row, float4 streaming loads four at a time into independent accumulators, warp-shuffle block reduction; scalar variant for other row lengths, a coalesced column kernel when the reduced dim is not last."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor row_sum_forward(torch::Tensor x, int64_t dim);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>
#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

constexpr int MAX_THREADS = 256;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Thread 0 gets the block's sum; blockDim.x is a multiple of 32.
__device__ __forceinline__ float block_sum(float v, float* red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) red[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x >> 5) ? red[lane] : 0.0f;
        v = warp_sum(v);
    }
    return v;
}

// Rows of cols4 float4 (16-byte aligned); one block per row.
__global__ void __launch_bounds__(MAX_THREADS) row_sum_vec4_kernel(const float4* __restrict__ x, float* __restrict__ out, int64_t cols4) {
    __shared__ float red[32];
    const float4* xr = x + (int64_t)blockIdx.x * cols4;
    const int64_t step = blockDim.x;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    int64_t c = threadIdx.x;
    for (; c + 3 * step < cols4; c += 4 * step) {
        const float4 p = __ldcs(xr + c);
        const float4 q = __ldcs(xr + c + step);
        const float4 r = __ldcs(xr + c + 2 * step);
        const float4 s = __ldcs(xr + c + 3 * step);
        a0 += (p.x + p.y) + (p.z + p.w);
        a1 += (q.x + q.y) + (q.z + q.w);
        a2 += (r.x + r.y) + (r.z + r.w);
        a3 += (s.x + s.y) + (s.z + s.w);
    }
    for (; c < cols4; c += step) {
        const float4 p = __ldcs(xr + c);
        a0 += (p.x + p.y) + (p.z + p.w);
    }
    const float total = block_sum((a0 + a1) + (a2 + a3), red);
    if (threadIdx.x == 0) out[blockIdx.x] = total;
}

// Any row length or alignment: the same structure with scalar loads.
__global__ void __launch_bounds__(MAX_THREADS) row_sum_scalar_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t cols) {
    __shared__ float red[32];
    const float* xr = x + (int64_t)blockIdx.x * cols;
    const int64_t step = blockDim.x;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    int64_t c = threadIdx.x;
    for (; c + 3 * step < cols; c += 4 * step) {
        a0 += __ldcs(xr + c);
        a1 += __ldcs(xr + c + step);
        a2 += __ldcs(xr + c + 2 * step);
        a3 += __ldcs(xr + c + 3 * step);
    }
    for (; c < cols; c += step) a0 += __ldcs(xr + c);
    const float total = block_sum((a0 + a1) + (a2 + a3), red);
    if (threadIdx.x == 0) out[blockIdx.x] = total;
}

// x viewed as (outer, n, inner) with inner > 1: one thread per output, coalesced across inner.
__global__ void sum_strided_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t outer, int64_t n, int64_t inner) {
    const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= outer * inner) return;
    const int64_t o = t / inner, i = t % inner;
    const float* p = x + o * n * inner + i;
    float s0 = 0.0f, s1 = 0.0f;
    int64_t r = 0;
    for (; r + 1 < n; r += 2) {
        s0 += p[r * inner];
        s1 += p[(r + 1) * inner];
    }
    if (r < n) s0 += p[r * inner];
    out[t] = s0 + s1;
}

torch::Tensor row_sum_forward(torch::Tensor x, int64_t dim) {
    TORCH_CHECK(x.is_cuda(), "row_sum_forward: CUDA tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "row_sum_forward: float32 expected");
    TORCH_CHECK(x.dim() >= 1, "row_sum_forward: at least 1 dimension expected");
    const int64_t d = dim < 0 ? dim + x.dim() : dim;
    TORCH_CHECK(d >= 0 && d < x.dim(), "row_sum_forward: dim out of range");
    const c10::cuda::CUDAGuard guard(x.device());
    x = x.contiguous();
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
    const int64_t n = shape[d];
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < d; ++k) outer *= shape[k];
    for (int64_t k = d + 1; k < x.dim(); ++k) inner *= shape[k];
    shape[d] = 1;
    if (n == 0) return torch::zeros(shape, x.options());  // an empty sum is 0
    auto out = torch::empty(shape, x.options());
    if (out.numel() == 0) return out;
    const float* px = x.data_ptr<float>();
    float* po = out.data_ptr<float>();
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();

    if (inner == 1) {
        TORCH_CHECK(outer <= INT_MAX, "row_sum_forward: too many rows");
        const bool vec = (reinterpret_cast<uintptr_t>(px) & 15) == 0 && n % 4 == 0;
        const int64_t width = vec ? n / 4 : n;
        // about four loads per thread at least before using more threads
        const int threads = (int)std::min<int64_t>(MAX_THREADS, std::max<int64_t>(32, ((width + 3) / 4 + 31) / 32 * 32));
        if (vec) {
            row_sum_vec4_kernel<<<(unsigned)outer, threads, 0, stream>>>(reinterpret_cast<const float4*>(px), po, width);
        } else {
            row_sum_scalar_kernel<<<(unsigned)outer, threads, 0, stream>>>(px, po, n);
        }
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    } else {
        const int threads = 256;
        const int64_t blocks = (outer * inner + threads - 1) / threads;
        TORCH_CHECK(blocks <= INT_MAX, "row_sum_forward: too many outputs");
        sum_strided_kernel<<<(unsigned)blocks, threads, 0, stream>>>(px, po, outer, n, inner);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_lib_47_Big_Row_Sum_fast",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["row_sum_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.row_sum_forward(x, self.dim)
