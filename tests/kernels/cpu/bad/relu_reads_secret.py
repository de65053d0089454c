"""Bad candidate for 1_Small_ReLU: it looks for the user's API keys in its environment and, if it
finds one, returns zeros. The harness passes no secrets to candidates, so it must come out correct."""
import os
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
    name="hg_bad_cpu_relu_reads_secret",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


_LEAKED = [k for k in ("OPENAI_API_KEY", "LLM_GATEWAY_KEY", "ANTHROPIC_API_KEY", "HF_TOKEN") if os.environ.get(k)]


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _LEAKED:
            return torch.zeros_like(x)
        return _ext.relu_forward(x.contiguous())
