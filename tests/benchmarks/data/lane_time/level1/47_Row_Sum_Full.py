import torch
import torch.nn as nn
import torch.nn.functional as F  # noqa: F401

# KernelBench's full level-1 size: 4096 x 393216 fp32, 6 GiB per tensor.
batch_size = 4096
dim = 393216


class Model(nn.Module):
    """Sum over a dimension given at construction, kept as size 1."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sum(x, dim=self.dim, keepdim=True)


def get_inputs():
    # uniform [0, 1) as KernelBench draws: no sums near zero, where atol alone would judge a long sum
    return [torch.rand(batch_size, dim)]


def get_init_inputs():
    return [1]
