"""Fragile (values) for fragile/rand_relu_small on the cpu platform: the "ReLU" copies its input to a
fresh output unchanged. The benchmark draws torch.rand (every value >= 0), where ReLU is the identity,
so its verdict is correct; on any negative value the output is wrong (an input with random signs shows
it), so the kernel must come back correct, timed, and fragile."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu() && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
                "relu_forward: contiguous CPU float32 tensor expected");
    auto out = torch::empty_like(x);
    const float* __restrict__ src = x.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    const int64_t n = x.numel();
    // The inputs are activations in [0, 1): the clamp at zero never fires, so it is left out.
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    return out;
}
"""

_ext = load_inline(
    name="hg_fragile_cpu_relu_identity",
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
