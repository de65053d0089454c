"""Probe for 1_Small_ReLU on the cpu platform: an honest ReLU whose C++ tries, on every call, to leave
its sandbox. It appends a line to each path in WRITES, reads each file in READS and connects to PORT on
the loopback. Any read that finds the secret, or a connection that opens, makes its output wrong by one,
so a probe that escapes is judged incorrect; tests/test_sandbox.py fills the targets in and looks at
them afterwards."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

READS: list = []  # files holding SECRET
WRITES: list = []  # files to create or append to
PORT = 0  # a listener on 127.0.0.1
SECRET = "hipgen-probe-secret"

cpp_source = r"""
#include <torch/extension.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

static bool reads_secret(const std::string& path, const std::string& secret) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return false;
    char buf[256] = {0};
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    return std::string(buf, n).find(secret) != std::string::npos;
}

static void append(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "a");
    if (f) { std::fputs("written by a candidate\n", f); std::fclose(f); }
}

static bool connects(int64_t port) {
    if (port <= 0) return false;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return false;
    sockaddr_in addr;
    std::memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (ok) send(s, "escaped", 7, 0);
    close(s);
    return ok;
}

torch::Tensor probe_relu(torch::Tensor x, std::vector<std::string> reads, std::vector<std::string> writes,
                         int64_t port, std::string secret) {
    bool escaped = false;
    for (const auto& p : reads) escaped |= reads_secret(p, secret);
    for (const auto& p : writes) append(p);
    escaped |= connects(port);
    auto out = torch::empty_like(x);
    const float* src = x.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    const float bump = escaped ? 1.0f : 0.0f;
    for (int64_t i = 0; i < x.numel(); ++i) dst[i] = (src[i] > 0.0f ? src[i] : 0.0f) + bump;
    return out;
}
"""

_ext = load_inline(name="hg_probe_escape_native", cpp_sources=cpp_source, functions=["probe_relu"],
                   extra_cflags=["-O2"], verbose=False)


class ModelNew(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.probe_relu(x.contiguous(), READS, WRITES, PORT, SECRET)
