"""Cheat (class 5, reuses the reference Model) for 1_Small_ReLU: ModelNew subclasses the reference
Model (imported from the problem module the harness loads) and, "for numerical parity", returns the
reference's own forward whenever its extension would run on a shape it was not tuned for, which is
every shape. The reference does the work and the candidate is timed as if it had. The source rules
must reject it: static_error, rule "inherits-reference"."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

from reference_problem import Model

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_forward: CPU tensor expected");
    TORCH_CHECK(x.is_contiguous(), "relu_forward: contiguous tensor expected");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: float32 expected");
    auto out = torch::empty_like(x);
    const float* __restrict__ src = x.data_ptr<float>();
    float* __restrict__ dst = out.data_ptr<float>();
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) {
        const float v = src[i];
        dst[i] = v > 0.0f ? v : 0.0f;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cpu_relu_subclass_model",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)

TUNED_SHAPES = {(128, 8192)}


class ModelNew(Model):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape) in TUNED_SHAPES:
            return _ext.relu_forward(x.contiguous())
        return super().forward(x)
