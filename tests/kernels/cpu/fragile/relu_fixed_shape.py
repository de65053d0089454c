"""Fragile (shape) for fragile/rand_relu_small on the cpu platform: a ReLU whose loop works in chunks of
8 floats and has no tail, so the last numel % 8 outputs are never written (it never reads or writes out
of bounds). The benchmark's 64 x 1000 is a multiple of 8, so its verdict is correct; on a shape whose
element count is not (3 x 5, say) the tail holds whatever the allocator left there, so the kernel must
come back correct, timed, and fragile."""
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
    // Eight lanes per step so the compiler emits one 256-bit vector per chunk; the feature sizes
    // this is tuned for are multiples of 8, so there is no remainder loop.
    for (int64_t base = 0; base + 8 <= n; base += 8) {
        for (int lane = 0; lane < 8; ++lane) {
            const float v = src[base + lane];
            dst[base + lane] = v > 0.0f ? v : 0.0f;
        }
    }
    return out;
}
"""

_ext = load_inline(
    name="hg_fragile_cpu_relu_fixed_shape",
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
