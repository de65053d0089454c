from pathlib import Path

import pytest

from tools.harness.build_notes import build_notes

KERNELS = Path(__file__).parent / "kernels"
GPU_FIXTURES = sorted((KERNELS / "cuda").rglob("*.py")) + sorted((KERNELS / "hip").rglob("*.py"))

HEAVY = '''
from torch.utils.cpp_extension import load_inline
cuda_src = """
#include <torch/extension.h>
__global__ void k(float* p) { p[0] = 1.0f; }
torch::Tensor f(torch::Tensor x) { return x; }
"""
ext = load_inline(name="x", cpp_sources="torch::Tensor f(torch::Tensor x);", cuda_sources=cuda_src, functions=["f"])
'''


@pytest.mark.parametrize("platform", ["cuda", "rocm"])
def test_extension_h_in_the_device_unit_gets_a_note_naming_the_compiler(platform):
    notes = build_notes(HEAVY, platform)
    assert len(notes) == 1
    assert "<torch/types.h>" in notes[0] and ("nvcc" if platform == "cuda" else "hipcc") in notes[0]


def test_no_note_on_cpu_where_the_one_unit_includes_it_anyway():
    assert build_notes(HEAVY, "cpu") == []


def test_types_h_commented_out_include_and_cpp_unit_include_get_no_note():
    light = HEAVY.replace("#include <torch/extension.h>", "#include <torch/types.h>")
    commented = HEAVY.replace("#include <torch/extension.h>", "// #include <torch/extension.h>")
    in_cpp = light.replace('cpp_sources="torch::Tensor', 'cpp_sources="#include <torch/extension.h>\\ntorch::Tensor')
    for source in (light, commented, in_cpp):
        assert build_notes(source, "cuda") == []


def test_unparsable_source_gets_no_note():
    assert build_notes("def broken(:\n", "cuda") == []


@pytest.mark.parametrize(
    "path", GPU_FIXTURES, ids=[f"{p.parent.parent.name}/{p.parent.name}/{p.name}" for p in GPU_FIXTURES]
)
def test_our_gpu_fixtures_follow_the_advice(path):
    """The fixtures are what the prompts hold up as good practice, and their builds dominate the GPU tests."""
    assert build_notes(path.read_text(), "cuda") == []
