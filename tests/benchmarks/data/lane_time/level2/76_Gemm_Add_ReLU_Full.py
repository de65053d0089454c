import torch
import torch.nn as nn

# KernelBench level 2's full size for a GEMM with an epilogue: x (1024, 8192), weight (8192, 8192).
batch_size = 1024
in_features = 8192
out_features = 8192


class Model(nn.Module):
    """A bias-free Linear layer, then a learned bias added, then ReLU."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.randn(out_features) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(x) + self.bias)


def get_inputs():
    return [torch.rand(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features]
