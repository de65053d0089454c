import torch
import torch.nn as nn

batch_size = 8192
features = 8192
scale = 1e-6


class Model(nn.Module):
    """Centres each row and scales it by 1e-6 (256 MiB fp32 in): every output is far below the fp32
    atol of 1e-4, so only a relative error norm tells the real answer from all zeros."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - x.mean(dim=1, keepdim=True)) * self.scale


def get_inputs():
    return [torch.randn(batch_size, features)]


def get_init_inputs():
    return [scale]
