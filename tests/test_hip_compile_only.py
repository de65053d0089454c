"""HIP compile-only checks for gfx942 and gfx950 with clang-22 and HIP 7.2's headers
(scripts/install-hip-toolchain.sh). CI installs the toolchain (.ci/run), so these run there (and fail if
it is missing); elsewhere they skip without it. See tools/harness/hip_compile.py for what a CPU build of
torch lets compile."""

import os
import re
from pathlib import Path

import pytest

from tools.errors import PlatformError
from tools.harness import hip_compile
from tools.harness.hip_compile import compile_hip_only, find_toolchain
from tools.harness.hip_hints import hip_hints
from tools.harness.source_extract import extract_sources

ROOT = Path(__file__).resolve().parent.parent
HIP = ROOT / "tests" / "kernels" / "hip"
GOOD = sorted((HIP / "good").glob("*.py"))
GFX950_ONLY = HIP / "gfx950" / "matmul_mfma_16x16x32.py"
ARCHES = ["gfx942", "gfx950"]

try:
    TOOLCHAIN = find_toolchain()
except PlatformError:
    TOOLCHAIN = None

needs_toolchain = pytest.mark.skipif(
    TOOLCHAIN is None and not os.environ.get("CI"),  # CI must have it
    reason="the HIP toolchain was not found (scripts/install-hip-toolchain.sh)",
)


def prompt_examples() -> dict[str, str]:
    """The HIP prompt's code, as candidates: its one-shot answer, and its wavefront sum in a kernel."""
    text = (ROOT / "prompts" / "system_hip.md").read_text()
    answer = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "class ModelNew" in b]
    snippets = re.findall(r"```cpp\n(.*?)```", text, re.S)
    assert len(answer) == 1 and len(snippets) == 1
    kernel = snippets[0] + "__global__ void k(float* p) { p[threadIdx.x] = wave_sum(p[threadIdx.x]); }\n"
    wrapped = f'from torch.utils.cpp_extension import load_inline\n_e = load_inline(name="w", cpp_sources="", cuda_sources=r"""\n{kernel}""")\n'
    return {"one_shot": answer[0], "wave_sum": wrapped}


def test_fixtures_present():
    assert {p.name for p in GOOD} == {"relu_bf16.py", "row_softmax.py", "gemm_mfma.py"}


@needs_toolchain
@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_fixture_compiles_with_resources(path, arch):
    result = compile_hip_only(path.read_text(), arch=arch)
    assert result.ok, result.errors
    assert f"--offload-arch={arch}" in " ".join(result.command) or "--cuda-host-only" in result.command
    assert result.kernels and all(k["vgpr"] > 0 and "occupancy_waves" in k for k in result.kernels)
    assert result.resources.startswith(f"compile-time resources for {arch}")
    assert "registers VGPR" in result.resources and "spills 0" in result.resources
    assert re.search(r"occupancy \d waves/SIMD of 8 \(limit: ", result.resources)
    print(f"{path.stem} {arch}: {result.seconds:.1f} s")


@needs_toolchain
@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("name", ["one_shot", "wave_sum"])
def test_prompt_examples_compile(name, arch):
    result = compile_hip_only(prompt_examples()[name], arch=arch)
    assert result.ok, result.errors
    print(f"prompt {name} {arch}: {result.seconds:.1f} s")


@needs_toolchain
@pytest.mark.slow
def test_gfx950_only_mfma_builds_for_gfx950_and_fails_for_gfx942_with_the_compiler_message():
    source = GFX950_ONLY.read_text()
    assert compile_hip_only(source, arch="gfx950").ok
    result = compile_hip_only(source, arch="gfx942")
    assert not result.ok
    assert "kernel.hip:21:" in result.errors  # the MFMA's line in the kernel source
    assert "'__builtin_amdgcn_mfma_f32_16x16x32_bf16' needs target feature gfx950-insts" in result.errors


@needs_toolchain
@pytest.mark.slow
def test_32bit_shuffle_mask_fails_and_names_the_mask():
    result = compile_hip_only((HIP / "bad" / "shfl_sync_32bit_mask.py").read_text(), arch="gfx942")
    assert not result.ok
    assert "mask" in result.errors and "64-bit" in result.errors
    assert "kernel.hip:9:" in result.errors  # the line of the shuffle in the kernel source
    assert "__shfl_xor_sync" in result.errors


def test_hip_hints():
    assert "64-bit mask" in hip_hints("v += __shfl_down_sync(0xffffffff, v, 1);", "")[0]
    assert hip_hints("v += __shfl_xor_sync(0xffffffffffffffffULL, v, 1);", "") == []
    assert hip_hints("// __shfl_xor_sync(0xffffffff, v, 1)\n", "") == []
    note = hip_hints("", "kernel.hip:3:10: fatal error: 'ATen/hip/HIPContext.h' file not found")
    assert len(note) == 1 and "CPU build of torch" in note[0]


@needs_toolchain
def test_missing_cuda_sources_fail_without_compiling():
    result = compile_hip_only("import torch\nx = 1\n")
    assert not result.ok and "cuda_sources" in result.errors and result.command == []


def test_missing_toolchain_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("HIP_TOOLCHAIN_ROOT", str(tmp_path))
    with pytest.raises(PlatformError, match=r"^The HIP compile-only toolchain was not found: run scripts/"):
        find_toolchain()


def test_non_amd_arch_is_refused():
    with pytest.raises(PlatformError, match="Unrecognised AMD arch 'sm_90'"):
        hip_compile.check_arch("sm_90")
    assert hip_compile.check_arch("gfx942:sramecc+:xnack-") == "gfx942"


LDS_HEAVY = '''from torch.utils.cpp_extension import load_inline
_e = load_inline(name="lds", cpp_sources="", cuda_sources=r"""
#include <hip/hip_runtime.h>
__global__ __launch_bounds__(256) void lds_heavy(const float* __restrict__ x, float* __restrict__ y, int n) {
    __shared__ float tile[12288];  // 48 KB
    for (int i = threadIdx.x; i < 12288; i += 256) tile[i] = x[blockIdx.x * 12288 + i];
    __syncthreads();
    y[blockIdx.x * 256 + threadIdx.x] = tile[(threadIdx.x * n) % 12288];
}
""")
'''


@needs_toolchain
@pytest.mark.slow
def test_lds_limits_occupancy_more_on_gfx942_than_on_gfx950():
    """48 KB of LDS per workgroup: one workgroup fits the 64 KB of a gfx942 CU, three the 160 KB of gfx950."""
    waves = {}
    for arch in ARCHES:
        result = compile_hip_only(LDS_HEAVY, arch=arch)
        assert result.ok, result.errors
        (k,) = result.kernels
        assert k["lds_bytes"] == 48 * 1024
        assert "(limit: LDS (48 KB per workgroup))" in result.resources
        waves[arch] = k["occupancy_waves"]
    assert waves["gfx942"] < waves["gfx950"] < 8


HALF_CONVERSION = '''from torch.utils.cpp_extension import load_inline
_e = load_inline(name="half", cpp_sources="", cuda_sources=r"""
#include <hip/hip_runtime.h>
#include <hip/hip_fp16.h>
__global__ void widen(const __half* __restrict__ x, float* __restrict__ y) { y[threadIdx.x] = x[threadIdx.x]; }
"""{flags})
'''
UNDO_TORCH_HALF = ', extra_cuda_cflags=["-O3", "-U__HIP_NO_HALF_CONVERSIONS__", "-Wall", "--offload-arch=gfx90a"]'


def test_candidate_flags_keep_what_shapes_the_compile():
    calls = extract_sources(HALF_CONVERSION.replace("{flags}", UNDO_TORCH_HALF)).build_calls
    assert hip_compile.candidate_flags(calls) == ["-O3", "-U__HIP_NO_HALF_CONVERSIONS__"]
    assert hip_compile.candidate_flags(extract_sources(HALF_CONVERSION.replace("{flags}", "")).build_calls) == []


@needs_toolchain
@pytest.mark.slow
def test_candidate_can_undo_torchs_half_flags_as_on_rocm():
    """torch passes -D__HIP_NO_HALF_CONVERSIONS__=1; the candidate's extra_cuda_cflags come after it."""
    refused = compile_hip_only(HALF_CONVERSION.replace("{flags}", ""), arch="gfx942")
    assert not refused.ok and "kernel.hip:4:" in refused.errors
    allowed = compile_hip_only(HALF_CONVERSION.replace("{flags}", UNDO_TORCH_HALF), arch="gfx942")
    assert allowed.ok, allowed.errors


REGISTER_HEAVY = '''from torch.utils.cpp_extension import load_inline
_e = load_inline(name="regs", cpp_sources="", cuda_sources=r"""
#include <hip/hip_runtime.h>
template <int N>
__device__ float dot_shuffled(const float* __restrict__ x) {
    float a[N];
#pragma unroll
    for (int i = 0; i < N; ++i) a[i] = x[threadIdx.x + i * 64];
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < N; ++i) s += a[i] * a[(i * 7 + 3) % N];
    return s;
}
__global__ __launch_bounds__(64) void many_registers(const float* x, float* y) { y[threadIdx.x] = dot_shuffled<160>(x); }
__global__ __launch_bounds__(1024) void spilling(const float* x, float* y) { y[threadIdx.x] = dot_shuffled<300>(x); }
""")
'''


@needs_toolchain
@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHES)
def test_register_pressure_and_spills_are_reported(arch):
    """160 live floats need over 64 VGPRs (fewer than 8 waves); 300 under a 1024-thread launch bound,
    which caps a lane at 128 VGPRs, must spill to scratch."""
    result = compile_hip_only(REGISTER_HEAVY, arch=arch)
    assert result.ok, result.errors
    kernels = {k["name"]: k for k in result.kernels}
    assert set(kernels) == {"many_registers", "spilling"}
    assert kernels["many_registers"]["vgpr"] > 64 and kernels["many_registers"]["occupancy_waves"] < 8
    assert kernels["spilling"]["vgpr_spill"] > 0 and kernels["spilling"]["scratch_bytes"] > 0
    lines = dict(line.split(": ", 1) for line in result.resources.splitlines()[1:])
    assert "(limit: registers (" in lines["- many_registers"] and "spills 0" in lines["- many_registers"]
    assert "(registers spill to scratch memory)" in lines["- spilling"]
