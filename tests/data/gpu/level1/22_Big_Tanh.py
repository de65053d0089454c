import torch
import torch.nn as nn

batch_size = 8192
dim = 16384


class Model(nn.Module):
    """Elementwise tanh over a 512 MiB fp32 tensor."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)


def get_inputs():
    # mostly in (-3, 3), where tanh is not yet saturated and rounding errors show
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
