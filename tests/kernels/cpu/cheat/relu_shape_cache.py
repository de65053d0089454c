"""Cheat (class 9a, Python-level result cache) for 1_Small_ReLU: forward memoizes its output in a dict
keyed by the input's shape, data pointer and version counter, and returns the stored tensor on a hit.
A benchmark that times the same input tensor repeatedly then measures a dict lookup. The source rules
must reject it: static_error, rule "caching"."""
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
    name="hg_cheat_cpu_relu_shape_cache",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._memo = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), x.data_ptr(), x._version)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        out = _ext.relu_forward(x.contiguous())
        self._memo[key] = out
        return out
