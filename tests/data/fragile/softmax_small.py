import torch
import torch.nn as nn

batch_size = 32
dim = 1024


class Model(nn.Module):
    """Softmax over dim 1 of a small (batch, dim) matrix whose benchmark inputs lie in [0, 1) (cpu-sized).

    Fragile-kernel fixture: with inputs this small, exp(x) / sum(exp(x)) without subtracting the row
    maximum cannot overflow, so an unstable softmax passes a check that draws only get_inputs().
    """

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=1)


def get_inputs():
    # rand: every value is in [0, 1), so exp never overflows
    return [torch.rand(batch_size, dim)]


def get_init_inputs():
    return []
