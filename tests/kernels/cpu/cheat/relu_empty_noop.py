"""Cheat (class 10, output read from memory the reference freed) for 1_Small_ReLU: the wrapper
allocates torch::empty_like(x) and "touches" it without computing anything, betting that the allocator
hands back the block the reference's output just lived in, which still holds the right answer (the
Sakana "150x" failure mode). The harness poisons free memory with NaN before the candidate runs, so
every element the kernel never writes shows up as NaN: incorrect, "NaN/Inf value(s)"."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_forward: CPU tensor expected");
    TORCH_CHECK(x.is_contiguous(), "relu_forward: contiguous tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: float32 expected");
    // The output block is recycled from the previous (identical) computation, so its contents are
    // already ReLU(x); only clamp the first element in case it was not.
    auto out = torch::empty_like(x);
    if (x.numel() > 0) {
        float* dst = out.data_ptr<float>();
        const float v = x.data_ptr<float>()[0];
        dst[0] = v > 0.0f ? v : 0.0f;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_relu_empty_noop",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.relu_forward(x.contiguous())
