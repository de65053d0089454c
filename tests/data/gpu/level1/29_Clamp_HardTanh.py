import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 8192
dim = 8192
min_val = -0.75
max_val = 1.25


class Model(nn.Module):
    """Hard-tanh with asymmetric bounds (a clamp to [min_val, max_val]) over a 256 MiB fp32 tensor."""

    def __init__(self, min_val: float, max_val: float):
        super().__init__()
        self.min_val = min_val
        self.max_val = max_val

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardtanh(x, min_val=self.min_val, max_val=self.max_val)


def get_inputs():
    # about a third of the values fall outside each bound
    return [torch.randn(batch_size, dim) * 2.0]


def get_init_inputs():
    return [min_val, max_val]
