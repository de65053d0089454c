"""Probe for 1_Small_ReLU on the cpu platform: an honest C++ ReLU whose Python tries, on every call, to
leave its sandbox with nothing the source rules name: numpy reads each file in READS, logging's rotating
file handler appends to each path in WRITES, and its socket handler connects to PORT on the loopback
(both handlers report a failure on stderr instead of raising). A read that finds the secret makes the output
wrong by one; tests/test_sandbox.py fills the targets in and looks at them afterwards."""
import logging
import logging.handlers
import os.path

import numpy as np
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

READS: list = []  # files holding SECRET
WRITES: list = []  # files to create or append to
PORT = 0  # a listener on 127.0.0.1
SECRET = "hipgen-probe-secret"

cpp_source = r"""
#include <torch/extension.h>

torch::Tensor relu_plus(torch::Tensor x, double bump) {
    auto out = torch::empty_like(x);
    const float* src = x.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    for (int64_t i = 0; i < x.numel(); ++i) dst[i] = (src[i] > 0.0f ? src[i] : 0.0f) + static_cast<float>(bump);
    return out;
}
"""

_ext = load_inline(name="hg_probe_escape_python", cpp_sources=cpp_source, functions=["relu_plus"],
                   extra_cflags=["-O2"], verbose=False)


def _leaks() -> float:
    found = sum(SECRET in bytes(np.fromfile(p, dtype=np.uint8)).decode("latin-1") for p in READS if os.path.exists(p))
    log = logging.getLogger("probe")
    for target in WRITES:
        log.addHandler(logging.handlers.RotatingFileHandler(target, delay=True))
    if PORT:
        log.addHandler(logging.handlers.SocketHandler("127.0.0.1", PORT))
    log.warning("written by a candidate")
    log.handlers.clear()
    return float(found > 0)


class ModelNew(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.relu_plus(x.contiguous(), _leaks())
