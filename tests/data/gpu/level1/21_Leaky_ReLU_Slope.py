import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 4096
dim = 32768
negative_slope = 0.05


class Model(nn.Module):
    """Leaky ReLU with a slope given at construction, over a 512 MiB fp32 tensor."""

    def __init__(self, negative_slope: float):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, negative_slope=self.negative_slope)


def get_inputs():
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return [negative_slope]
