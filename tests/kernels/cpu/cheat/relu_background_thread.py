"""Cheat (class 6, threads) for 1_Small_ReLU: forward allocates the output, starts a background thread
that runs the kernel into it, and returns at once. A timer that stops when forward returns measures
only the thread start; the values arrive later (by the time a slow checker looks, they are usually
there). The source rules must reject it: static_error, rule "concurrency"."""
import threading

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
    name="hg_cheat_cpu_relu_background_thread",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


def _fill(x: torch.Tensor, out: torch.Tensor) -> None:
    out.copy_(_ext.relu_forward(x))


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        out = torch.empty_like(x)
        # overlap the kernel with whatever the caller does next
        threading.Thread(target=_fill, args=(x, out), daemon=True).start()
        return out
