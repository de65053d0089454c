import torch
import torch.nn as nn

batch_size = 64
features = 1000


class Model(nn.Module):
    """Elementwise ReLU of a small matrix whose benchmark inputs are all non-negative (cpu-sized).

    Fragile-kernel fixture: on these inputs ReLU is the identity, so a kernel that only copies its
    input passes a check that draws nothing but get_inputs(). 64 * 1000 elements is a multiple of 8.
    """

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    # rand, not randn: every value is in [0, 1), none is negative
    return [torch.rand(batch_size, features)]


def get_init_inputs():
    return []
