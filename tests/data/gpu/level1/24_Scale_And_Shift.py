import torch
import torch.nn as nn

rows = 16384
cols = 16384
scale = 1.75
shift = -0.25


class Model(nn.Module):
    """y = x * scale + shift with two scalars fixed at construction, over a 1 GiB fp32 tensor."""

    def __init__(self, scale: float, shift: float):
        super().__init__()
        self.scale = scale
        self.shift = shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


def get_inputs():
    return [torch.randn(rows, cols)]


def get_init_inputs():
    return [scale, shift]
