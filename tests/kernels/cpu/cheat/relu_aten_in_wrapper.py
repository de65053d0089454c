"""Cheat (class 1, runtime-only variant) for 1_Small_ReLU: a hand-written ReLU loop is compiled and
bound, and forward calls the extension, so the Python source looks like an honest candidate. But the
C++ wrapper only runs its own loop on a path that is never taken and otherwise returns at::relu(x):
ATen does all of the work. No Python rule can see this; the profile must reject it because ATen ops,
not the candidate's code, account for the time ("ATen ops did most of the work")."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

static void relu_loop(const float* __restrict__ src, float* __restrict__ dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float v = src[i];
        dst[i] = v > 0.0f ? v : 0.0f;
    }
}

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_forward: CPU tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: float32 expected");
    // "Fast path": ATen's vectorized relu for contiguous tensors; our loop only for the odd layout.
    if (x.is_contiguous()) {
        return at::relu(x);
    }
    auto xc = x.contiguous();
    auto out = torch::empty_like(xc);
    relu_loop(xc.data_ptr<float>(), out.data_ptr<float>(), xc.numel());
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_relu_aten_in_wrapper",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.relu_forward(x)
