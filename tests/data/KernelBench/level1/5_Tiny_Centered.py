import torch
import torch.nn as nn

batch_size = 64
features = 4096
scale = 1e-6


class Model(nn.Module):
    """Centres each row and scales it by 1e-6: every output is far below the fp32 atol of 1e-4, so an
    elementwise allclose alone would accept an all-zero answer; only a relative error norm does not."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - x.mean(dim=1, keepdim=True)) * self.scale


def get_inputs():
    return [torch.randn(batch_size, features)]


def get_init_inputs():
    return [scale]
