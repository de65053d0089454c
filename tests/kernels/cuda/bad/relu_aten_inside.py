"""Bad candidate for gpu/level1/19_Big_ReLU: a CUDA kernel that is compiled and wired up but never
launched for real inputs; the host wrapper hands the work to ATen. The source looks honest, so only
what actually ran on the GPU can reject it."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor relu_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <ATen/cuda/CUDAContext.h>
#include <cstdint>

__global__ void relu_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = src[i] > 0.f ? src[i] : 0.f;
}

torch::Tensor relu_forward(torch::Tensor x) {
    if (x.numel() < 0) {  // never true: the kernel exists only to be seen
        auto out = torch::empty_like(x);
        relu_kernel<<<1, 1, 0, at::cuda::getCurrentCUDAStream()>>>(x.data_ptr<float>(), out.data_ptr<float>(), x.numel());
        return out;
    }
    return at::relu(x);
}
"""

_ext = load_inline(
    name="hg_bad_cuda_relu_aten_inside",
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
        return _ext.relu_forward(x)
