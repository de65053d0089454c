import torch
import torch.nn as nn

batch_size = 4096
dim = 65536


class Model(nn.Module):
    """Swish (x * sigmoid(x), also called SiLU) over a 1 GiB fp32 tensor."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


def get_inputs():
    return [torch.randn(batch_size, dim) * 3.0]


def get_init_inputs():
    return []
