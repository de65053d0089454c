import torch
import torch.nn as nn

# KernelBench's level-1 size for an elementwise op: 4096 x 393216 fp32 = 6 GiB in, 6 GiB out.
# Kept out of tests/data/gpu so that tests enumerating those problems never allocate it.
batch_size = 4096
dim = 393216


class Model(nn.Module):
    """Elementwise ReLU over a 6 GiB fp32 tensor."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    # centred so half the values are negative
    return [torch.rand(batch_size, dim) - 0.5]


def get_init_inputs():
    return []
