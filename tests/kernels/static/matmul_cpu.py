import os

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

CPP_SOURCE = """
#include <torch/extension.h>

torch::Tensor matmul_add(torch::Tensor a, torch::Tensor b, torch::Tensor bias) {
    auto ac = a.contiguous();
    auto bc = b.contiguous();
    const int64_t M = ac.size(0), K = ac.size(1), N = bc.size(1);
    auto out = torch::empty({M, N}, ac.options());
    const float* A = ac.data_ptr<float>();
    const float* B = bc.data_ptr<float>();
    const float* C = bias.data_ptr<float>();
    float* O = out.data_ptr<float>();
    for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) O[i * N + j] = C[j];
        for (int64_t k = 0; k < K; ++k) {
            const float aik = A[i * K + k];
            for (int64_t j = 0; j < N; ++j) O[i * N + j] += aik * B[k * N + j];
        }
    }
    return out;
}
"""

_ext = load_inline(
    name="matmul_add_cpu",
    cpp_sources=[CPP_SOURCE],
    functions=["matmul_add"],
    extra_cflags=["-O3"],
    verbose=os.environ.get("VERBOSE_BUILD", "0") == "1",
)


class ModelNew(nn.Module):
    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.matmul_add(x, self.weight, self.bias)
