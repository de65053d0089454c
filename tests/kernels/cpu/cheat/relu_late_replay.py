"""Cheat (class 18, replay once the check is over) for 1_Small_ReLU: the C++ wrapper computes ReLU
honestly for its first 16 calls, enough for the check, then returns a copy of its 16th output for every
later call without reading the input. Only the timed calls see the replay: each gets fresh inputs and its
output is verified, so the time phase rejects it ("outputs during timing did not match the
reference"). Its check passed, so a check request answers correct, and the profile request rejected."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

namespace {
int64_t g_calls = 0;
torch::Tensor g_last;
}  // namespace

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu() && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
                "relu_forward: contiguous CPU float32 tensor expected");
    if (++g_calls > 16 && g_last.defined() && g_last.sizes() == x.sizes()) {
        return g_last.clone();
    }
    auto out = torch::empty_like(x);
    const float* __restrict__ src = x.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
        dst[i] = src[i] > 0.0f ? src[i] : 0.0f;
    }
    g_last = out.clone();
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_relu_late_replay",
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
