import torch
import torch.nn as nn

batch_size = 128
features = 1024
scale = 0.75


class Model(nn.Module):
    """y = x * scale + bias, with a fixed scalar scale and a learned per-feature bias."""

    def __init__(self, scale: float, features: int):
        super().__init__()
        self.scale = scale
        self.bias = nn.Parameter(torch.randn(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.bias


def get_inputs():
    return [torch.randn(batch_size, features)]


def get_init_inputs():
    return [scale, features]
