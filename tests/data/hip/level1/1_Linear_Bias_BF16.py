import torch
import torch.nn as nn

batch_size = 1024
in_features = 1024
out_features = 1024


class Model(nn.Module):
    """A bf16 linear layer with bias: y = x @ W^T + b, W stored (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, dtype=torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def get_inputs():
    return [torch.randn(batch_size, in_features, dtype=torch.bfloat16)]


def get_init_inputs():
    return [in_features, out_features]
