"""Bad candidate for 1_Small_ReLU: the C++ writes through a null pointer and crashes the process.
The harness must report a crash, not die."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_contiguous() && x.scalar_type() == torch::kFloat32, "contiguous float32 expected");
    auto out = torch::empty_like(x);
    const float* src = x.data_ptr<float>();
    // Both volatiles matter: the pointer value is unknown to the compiler, and the store may not be dropped.
    volatile float* volatile dst = nullptr;
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) {
        dst[i] = src[i] > 0.f ? src[i] : 0.f;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_bad_cpu_relu_segfault",
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
