import torch
import torch.nn as nn

batch_size = 4096
dim = 65536


class Model(nn.Module):
    """Elementwise ReLU over a 1 GiB fp32 tensor whose benchmark inputs are all non-negative (gpu-sized).

    Fragile-kernel fixture: on these inputs ReLU is the identity, so a kernel that only copies its
    input passes a check that draws nothing but get_inputs(). 4096 * 65536 elements is a multiple of 4.
    """

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    # rand, not rand - 0.5: every value is in [0, 1), none is negative
    return [torch.rand(batch_size, dim)]


def get_init_inputs():
    return []
