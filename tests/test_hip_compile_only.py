"""HIP compile-only checks with hipcc for an AMD target (gfx90a: what Debian's hipcc 5.2 / clang-15
compiles). CI installs `hipcc` and `libthrust-dev` (.ci/run), so these run there (and fail if it is missing);
elsewhere they skip when hipcc is absent. See tools/compile_only.py for what a CPU build of torch lets compile."""

import os
import re
from pathlib import Path

import pytest

from tools.errors import PlatformError
from tools.harness import compile_only
from tools.harness.compile_only import compile_hip_only, find_hipcc, hip_hints

ROOT = Path(__file__).resolve().parent.parent
HIP = ROOT / "tests" / "kernels" / "hip"
GOOD = sorted((HIP / "good").glob("*.py"))

try:
    HIPCC = find_hipcc()
except PlatformError:
    HIPCC = None

needs_hipcc = pytest.mark.skipif(
    HIPCC is None and not os.environ.get("CI"),  # CI must have it
    reason="hipcc was not found (apt-get install hipcc)",
)


def one_shot_example() -> str:
    text = (ROOT / "prompts" / "system_hip.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    answer = [b for b in blocks if "class ModelNew" in b]
    assert len(answer) == 1
    return answer[0]


def test_fixtures_present():
    assert {p.name for p in GOOD} == {"relu_bf16.py", "row_softmax.py", "gemm_mfma.py"}


@needs_hipcc
@pytest.mark.slow
@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_fixture_compiles_for_gfx90a(path):
    result = compile_hip_only(path.read_text(), arch="gfx90a", hipcc=HIPCC)
    assert result.ok, result.errors
    assert "--offload-arch=gfx90a" in result.command and "-D__HIP_NO_HALF_OPERATORS__=1" in result.command
    print(f"{path.stem}: {result.seconds:.1f} s")


@needs_hipcc
@pytest.mark.slow
def test_one_shot_example_compiles_for_gfx90a():
    result = compile_hip_only(one_shot_example(), arch="gfx90a", hipcc=HIPCC)
    assert result.ok, result.errors
    print(f"one-shot example: {result.seconds:.1f} s")


@needs_hipcc
@pytest.mark.slow
def test_32bit_shuffle_mask_fails_and_names_the_mask():
    result = compile_hip_only((HIP / "bad" / "shfl_sync_32bit_mask.py").read_text(), arch="gfx90a", hipcc=HIPCC)
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


@needs_hipcc
def test_missing_cuda_sources_fail_without_compiling():
    result = compile_hip_only("import torch\nx = 1\n", hipcc=HIPCC)
    assert not result.ok and "cuda_sources" in result.errors and result.command == []


def test_hipcc_absent_raises_platform_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    for var in ("ROCM_HOME", "ROCM_PATH", "HIP_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(compile_only, "DEFAULT_HIPCC", str(tmp_path / "rocm" / "bin" / "hipcc"))
    with pytest.raises(
        PlatformError, match=r"^hipcc was not found: apt-get install hipcc \(Debian\) or install ROCm\.$"
    ):
        find_hipcc(str(tmp_path / "hipcc"))


def test_hipcc_command_rejects_non_amd_arch(tmp_path):
    with pytest.raises(PlatformError):
        compile_only.hipcc_command("/usr/bin/hipcc", "sm_90", tmp_path / "a.hip", tmp_path / "a.o", std="-std=c++17")
    cmd = compile_only.hipcc_command("/usr/bin/hipcc", "gfx942", tmp_path / "a.hip", tmp_path / "a.o", std="-std=c++20")
    assert "--offload-arch=gfx942" in cmd and "-std=c++20" in cmd and cmd[-2:] == ["-o", str(tmp_path / "a.o")]
