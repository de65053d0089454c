import os
from pathlib import Path

import pytest

from tools.errors import PlatformError
from tools.harness import compile_only
from tools.harness.compile_only import compile_cuda_only, find_nvcc, gencode, trim_errors

try:
    NVCC = find_nvcc()
except PlatformError:
    NVCC = None

needs_nvcc = pytest.mark.skipif(
    NVCC is None and not os.environ.get("CI"),  # CI must have it
    reason="nvcc was not found (install the CUDA toolkit or set CUDA_HOME)",
)

CUDA_GOOD = sorted((Path(__file__).parent / "kernels" / "cuda" / "good").glob("*.py"))


def _torch_has_cuda_headers() -> bool:
    import torch.utils.cpp_extension as cpp_extension

    return any(
        (Path(d) / "c10" / "cuda" / "impl" / "cuda_cmake_macros.h").is_file() for d in cpp_extension.include_paths()
    )


# The fixtures include <ATen/cuda/CUDAContext.h> and <c10/cuda/...> for torch's current stream; a CPU
# build of torch ships no c10/cuda/impl/cuda_cmake_macros.h, so they compile only against a CUDA build.
needs_torch_cuda_headers = pytest.mark.skipif(
    not _torch_has_cuda_headers(),
    reason="this torch is a CPU build without torch's CUDA headers (c10/cuda/impl/cuda_cmake_macros.h)",
)

# <torch/types.h>, as the fixtures have it: <torch/extension.h> doubles nvcc's time on this unit.
KERNEL = r"""
#include <torch/types.h>

__global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

torch::Tensor relu_forward(torch::Tensor x) {
    auto y = torch::empty_like(x);
    int64_t n = x.numel();
    relu_kernel<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), y.data_ptr<float>(), n);
    return y;
}
"""

CANDIDATE = '''import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cuda_source = r"""{kernel}"""
ext = load_inline(name="relu", cpp_sources="torch::Tensor relu_forward(torch::Tensor x);",
                  cuda_sources=cuda_source, functions=["relu_forward"])


class ModelNew(nn.Module):
    def forward(self, x):
        return ext.relu_forward(x)
'''

# Line 5 of the kernel source: a float* assigned to an int.
BROKEN = KERNEL.replace("int64_t i = blockIdx.x", "int* bad = x; int64_t i = blockIdx.x")


@needs_nvcc
@pytest.mark.slow
def test_correct_kernel_compiles():
    result = compile_cuda_only(CANDIDATE.format(kernel=KERNEL), arch="sm_90", nvcc=NVCC)
    assert result.ok, result.errors
    assert result.errors == "" and result.seconds > 0
    assert "-gencode=arch=compute_90,code=sm_90" in result.command


@needs_nvcc
@pytest.mark.slow
def test_type_error_points_into_kernel_source():
    result = compile_cuda_only(CANDIDATE.format(kernel=BROKEN), nvcc=NVCC)
    assert not result.ok
    assert "kernel.cu(5)" in result.errors and "error" in result.errors
    assert "warning" not in result.errors
    assert len(result.errors) <= 4100


@needs_nvcc
@needs_torch_cuda_headers
@pytest.mark.slow
@pytest.mark.parametrize("path", CUDA_GOOD, ids=[p.name for p in CUDA_GOOD])
def test_honest_cuda_fixture_compiles_for_sm90(path):
    result = compile_cuda_only(path.read_text(), arch="sm_90", nvcc=NVCC)
    assert result.ok, result.errors


@needs_nvcc
def test_missing_cuda_sources_fail_without_compiling():
    result = compile_cuda_only("import torch\nx = 1\n", nvcc=NVCC)
    assert not result.ok and "cuda_sources" in result.errors and result.command == []


def test_nvcc_absent_raises_platform_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CUDA_HOME", str(tmp_path))
    monkeypatch.setattr(compile_only, "DEFAULT_NVCC", str(tmp_path / "cuda" / "bin" / "nvcc"))
    with pytest.raises(PlatformError, match="nvcc was not found"):
        find_nvcc(str(tmp_path / "nvcc"))


def test_gencode_from_arch():
    assert gencode("sm_90") == "-gencode=arch=compute_90,code=sm_90"
    assert gencode("sm_90a") == "-gencode=arch=compute_90a,code=sm_90a"
    assert gencode("80") == "-gencode=arch=compute_80,code=sm_80"
    with pytest.raises(PlatformError):
        gencode("gfx942")


def test_trim_errors_keeps_errors_drops_warnings():
    out = (
        "/torch/include/a.h(89): warning #3306-D: a default bit-field initializer\n"
        "    bool x : 1 = false;\n"
        'kernel.cu(5): error: a value of type "const float *" cannot be used\n'
        "      int* bad = x;\n"
        '1 error detected in the compilation of "kernel.cu".\n'
    )
    text = trim_errors(out)
    assert text.startswith("kernel.cu(5): error") and "warning" not in text
    assert len(trim_errors("kernel.cu(1): error: x\n" * 1000)) < 4100


@needs_nvcc
def test_the_fused_comparison_source_compiles_to_ptx(tmp_path):
    """The GPU tests run it through NVRTC (tests/test_cuda_compare_gpu.py); here, nvcc proves it compiles
    to PTX for the oldest architecture CUDA 13 builds for, on every CI run."""
    import subprocess

    from tools.platforms import cuda_compare

    out = tmp_path / "compare.ptx"
    cmd = [NVCC, "--ptx", "-arch=compute_75", "-std=c++17", str(cuda_compare.SOURCE), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    ptx = out.read_text()
    for name in cuda_compare.KERNELS.values():
        assert f".entry {name}(" in ptx, name
