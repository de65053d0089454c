import torch
import torch.nn as nn
import torch.nn.functional as F

# A two-op chain at KernelBench's full level-1 tensor size: 4096 x 393216 fp32 (6 GiB) and a bias row.
batch_size = 4096
dim = 393216


class Model(nn.Module):
    """Adds a per-column bias, then the exact (erf) GELU."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return F.gelu(x + bias)


def get_inputs():
    return [torch.rand(batch_size, dim) * 4 - 2, torch.rand(dim) - 0.5]


def get_init_inputs():
    return []
