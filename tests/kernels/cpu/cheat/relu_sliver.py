"""Cheat (class 2, launched on a sliver) for 1_Small_ReLU: the candidate's own loop handles only the
first 1% of the elements and the C++ wrapper hands the other 99% to at::relu_out. Forward calls only
the extension, so the Python source is clean and the output is exactly right; the speedup is ATen's,
not the kernel's. The profile must reject it: "ATen ops did most of the work"."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <algorithm>
#include <cstdint>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_forward: CPU tensor expected");
    TORCH_CHECK(x.is_contiguous(), "relu_forward: contiguous tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: float32 expected");
    auto out = torch::empty_like(x);
    const int64_t n = x.numel();
    // Our hand-tuned loop takes the "head" of the tensor ...
    const int64_t head = std::max<int64_t>(1, n / 100);
    const float* __restrict__ src = x.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    for (int64_t i = 0; i < std::min(head, n); ++i) {
        const float v = src[i];
        dst[i] = v > 0.0f ? v : 0.0f;
    }
    // ... and the library finishes the rest "to overlap the tail".
    if (head < n) {
        auto tail_out = out.view({-1}).narrow(0, head, n - head);
        at::relu_out(tail_out, x.view({-1}).narrow(0, head, n - head));
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_relu_sliver",
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
