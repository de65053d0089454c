"""Cheat (class 2, launched on a sliver) for gpu/level1/19_Big_ReLU: the candidate's own kernel really
runs, but only on the first 1% of the elements; the C++ wrapper hands the other 99% to at::relu_out,
i.e. to ATen's CUDA kernel. Forward calls only the extension, so the Python source is clean, the
output is exact, and a profile that only asks "did an own kernel run?" is satisfied. The harness must
reject it because library kernels took nearly all of the device time: rejected, "library kernels did
most of the work"."""
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

__global__ void relu_head_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t n) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = src[i];
        dst[i] = v > 0.0f ? v : 0.0f;
    }
}

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
                "relu_forward: contiguous CUDA float32 tensor expected");
    auto out = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n == 0) return out;
    // Hand-written kernel for the head of the tensor ...
    const int64_t head = std::max<int64_t>(1, n / 100);
    const int threads = 256;
    const int blocks = (int)std::min<int64_t>((head + threads - 1) / threads, 1024);
    relu_head_kernel<<<blocks, threads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), out.data_ptr<float>(), head);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    // ... and the library "overlaps" the rest.
    if (head < n) {
        auto tail_out = out.view({-1}).narrow(0, head, n - head);
        at::relu_out(tail_out, x.view({-1}).narrow(0, head, n - head));
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cuda_relu_sliver",
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
