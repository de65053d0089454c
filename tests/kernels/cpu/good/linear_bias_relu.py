"""Honest candidate for level2 1_Linear_Bias_ReLU on the cpu platform.

Parameters are created exactly as Model creates them: an nn.Linear (used only as the holder of
weight (out, in) and bias (out,), never called) and then the extra bias, in the same order, so the
harness's seeded construction gives identical values. The C++ computes relu(x @ W^T + b_lin + b).
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <cstdint>

torch::Tensor linear_bias_relu_forward(torch::Tensor x, torch::Tensor weight,
                                       torch::Tensor lin_bias, torch::Tensor bias) {
    TORCH_CHECK(x.device().is_cpu(), "linear_bias_relu: CPU tensors expected");
    TORCH_CHECK(x.dim() == 2 && weight.dim() == 2 && x.size(1) == weight.size(1),
                "linear_bias_relu: x (B, in) and weight (out, in) expected");
    TORCH_CHECK(lin_bias.numel() == weight.size(0) && bias.numel() == weight.size(0),
                "linear_bias_relu: biases must have out_features elements");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32,
                "linear_bias_relu: float32 expected");
    x = x.contiguous();
    weight = weight.contiguous();
    lin_bias = lin_bias.contiguous();
    bias = bias.contiguous();
    const int64_t B = x.size(0), IN = x.size(1), OUT = weight.size(0);
    auto y = torch::empty({B, OUT}, x.options());
    const float* __restrict__ px = x.data_ptr<float>();
    const float* __restrict__ pw = weight.data_ptr<float>();
    const float* __restrict__ pbl = lin_bias.data_ptr<float>();
    const float* __restrict__ pb = bias.data_ptr<float>();
    float* __restrict__ py = y.data_ptr<float>();
    constexpr int LANES = 8;
    // y[b, o] = sum_k x[b, k] * W[o, k]: both rows are contiguous along k.
    for (int64_t b = 0; b < B; ++b) {
        const float* __restrict__ xr = px + b * IN;
        for (int64_t o = 0; o < OUT; ++o) {
            const float* __restrict__ wr = pw + o * IN;
            float acc[LANES] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
            int64_t k = 0;
            for (; k + LANES <= IN; k += LANES) {
                for (int l = 0; l < LANES; ++l) acc[l] += xr[k + l] * wr[k + l];
            }
            float s = 0.f;
            for (; k < IN; ++k) s += xr[k] * wr[k];
            for (int l = 0; l < LANES; ++l) s += acc[l];
            const float v = (s + pbl[o]) + pb[o];
            py[b * OUT + o] = v > 0.f ? v : 0.f;
        }
    }
    return y;
}
"""

_ext = load_inline(
    name="hg_fixture_cpu_linear_bias_relu",
    cpp_sources=cpp_source,
    functions=["linear_bias_relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias_shape: tuple):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)  # parameter holder; never called
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.linear_bias_relu_forward(x, self.linear.weight, self.linear.bias, self.bias)
