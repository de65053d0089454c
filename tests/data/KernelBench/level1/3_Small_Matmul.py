import torch
import torch.nn as nn

M = 128
K = 256
N = 128


class Model(nn.Module):
    """C = A @ B for a small dense matrix pair."""

    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(M, K), torch.randn(K, N)]


def get_init_inputs():
    return []
