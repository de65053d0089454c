"""Cheat (class 10, output read from memory the reference freed) for gpu/level1/19_Big_ReLU: the
wrapper allocates torch::empty_like(x) and launches a one-thread "fix-up" kernel that writes a single
element, betting that the caching allocator hands back the block the reference's output just freed,
which still holds ReLU(x) (the failure mode behind the withdrawn "150x" KernelBench claims). The harness
fills free device memory with NaN before the candidate runs, so the elements never written come out
NaN: incorrect, "NaN/Inf value(s)"."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor relu_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <cstdint>

// The recycled output block already holds the activations; clamp element 0 in case it did not.
__global__ void relu_fixup_kernel(const float* __restrict__ src, float* __restrict__ dst) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        const float v = src[0];
        dst[0] = v > 0.0f ? v : 0.0f;
    }
}

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
                "relu_forward: contiguous CUDA float32 tensor expected");
    auto out = torch::empty_like(x);
    if (x.numel() == 0) return out;
    relu_fixup_kernel<<<1, 32, 0, c10::cuda::getCurrentCUDAStream()>>>(x.data_ptr<float>(), out.data_ptr<float>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cuda_relu_empty_noop",
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
