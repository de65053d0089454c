import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: F401

# KernelBench's full level-1 size: 4096 x 393216 fp32, 6 GiB per tensor.
batch_size = 4096
dim = 393216


class Model(nn.Module):
    """Leaky ReLU with the slope given at construction."""

    def __init__(self, negative_slope: float):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, negative_slope=self.negative_slope)


def get_inputs():
    return [torch.rand(batch_size, dim) * 2 - 1]


def get_init_inputs():
    return [0.01]
