"""search_library 33_Row_L2_Normalize, slow: one thread per row, a serial sum of squares then a serial divide pass, uncoalesced loads and stores."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor l2_normalize_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <climits>
#include <cmath>
#include <cstdint>

// x viewed as (outer, n, inner), normalised over n; one thread per (outer, inner) line.
__global__ void l2_normalize_serial_kernel(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
    const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= outer * inner) return;
    const int64_t o = t / inner, i = t % inner;
    const float* xr = x + o * n * inner + i;
    float* yr = y + o * n * inner + i;
    float ss = 0.0f;
    for (int64_t r = 0; r < n; ++r) ss += xr[r * inner] * xr[r * inner];
    const float norm = sqrtf(ss);
    for (int64_t r = 0; r < n; ++r) yr[r * inner] = xr[r * inner] / norm;
}

torch::Tensor l2_normalize_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "l2_normalize_forward: CUDA tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "l2_normalize_forward: float32 expected");
    TORCH_CHECK(x.dim() >= 2, "l2_normalize_forward: a norm over dim 1 needs at least 2 dimensions");
    x = x.contiguous();
    auto y = torch::empty_like(x);
    if (x.numel() == 0) return y;
    const int64_t outer = x.size(0), n = x.size(1), inner = x.numel() / (outer * n);
    const int threads = 128;
    const int64_t blocks = (outer * inner + threads - 1) / threads;
    TORCH_CHECK(blocks <= INT_MAX, "l2_normalize_forward: too many rows");
    l2_normalize_serial_kernel<<<(unsigned)blocks, threads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), outer, n, inner);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="hg_lib_33_Row_L2_Normalize_slow",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["l2_normalize_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.l2_normalize_forward(x)
