"""Cheat (class 9b, C++-level result cache) for gpu/level1/19_Big_ReLU: the host wrapper keeps a
static std::unordered_map from (input data pointer, numel) to the output tensor it computed the first
time and, on a hit, returns that tensor without launching anything. Benchmarks that time the same
input buffers again and again then see no work at all. Python sees nothing: forward only calls the
extension. The harness must catch it at run time: the caching allocator hands a new input the address
of an old one, so the check gets a stale answer ("elements outside"), and every timed call must get
fresh inputs whose outputs are verified ("outputs during timing did not match the reference")."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor relu_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/types.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <algorithm>
#include <cstdint>
#include <unordered_map>

__global__ void relu_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t n) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = src[i];
        dst[i] = v > 0.0f ? v : 0.0f;
    }
}

namespace {
struct Memo {
    int64_t numel;
    torch::Tensor out;
};
// Same buffer, same size -> same answer ("inputs are immutable during inference").
std::unordered_map<uintptr_t, Memo> g_memo;
}  // namespace

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
                "relu_forward: contiguous CUDA float32 tensor expected");
    const uintptr_t key = reinterpret_cast<uintptr_t>(x.data_ptr<float>());
    auto hit = g_memo.find(key);
    if (hit != g_memo.end() && hit->second.numel == x.numel()) {
        return hit->second.out;
    }
    auto out = torch::empty_like(x);
    const int64_t n = x.numel();
    if (n > 0) {
        int sms = 0;
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, x.get_device());
        const int threads = 256;
        const int blocks = (int)std::min<int64_t>((n + threads - 1) / threads, (int64_t)std::max(sms, 1) * 8);
        relu_kernel<<<blocks, threads, 0, c10::cuda::getCurrentCUDAStream()>>>(
            x.data_ptr<float>(), out.data_ptr<float>(), n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (g_memo.size() >= 4) g_memo.clear();  // bound the memory the memo holds
    g_memo[key] = Memo{n, out};
    return out;
}
"""

_ext = load_inline(
    name="hg_cheat_cuda_relu_ptr_cache",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["relu_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.relu_forward(x.contiguous())
