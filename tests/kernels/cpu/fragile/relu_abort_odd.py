"""Fragile (shape) for rand_relu_small on the cpu platform: a C++ ReLU that assumes its element count is
even, as a two-wide loop with no tail would, and aborts the process when it is not. The benchmark's
shapes are even, so its verdict is correct; the robustness trial with an odd dimension kills the worker,
and the kernel must come back correct, timed, and fragile, naming the input it died on."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdlib>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_contiguous() && x.scalar_type() == torch::kFloat32, "contiguous float32 expected");
    const int64_t n = x.numel();
    if (n % 2) std::abort();
    auto out = torch::empty_like(x);
    const float* src = x.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    for (int64_t i = 0; i < n; i += 2) {
        dst[i] = src[i] > 0.0f ? src[i] : 0.0f;
        dst[i + 1] = src[i + 1] > 0.0f ? src[i + 1] : 0.0f;
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_fragile_cpu_relu_abort_odd",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O2"],
    verbose=False,
)


class ModelNew(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.relu_forward(x.contiguous())
