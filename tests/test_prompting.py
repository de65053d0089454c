"""Prompt templates and routing (prompts/ data + graphs/prompting.py)."""

from __future__ import annotations

from importlib import resources

import pytest

from graphs import prompting

VARS = dict(arch="sm_90", device_name="NVIDIA H100 80GB HBM3", target_speedup=1.0, max_attempts=10, goal="1x")
TOOLS = (
    "read_reference",
    "write_kernel",
    "compile_kernel",
    "check_correctness",
    "profile_kernel",
    "finish",
    "read_library",
)


@pytest.mark.parametrize(
    "name, family",
    [
        ("3_Small_Matmul", "gemm"),
        ("76_Gemm_Add_ReLU", "gemm"),  # matches gemm and elementwise: first listed wins
        ("1_Linear_Bias_ReLU", "gemm"),
        ("19_ReLU", "elementwise"),
        ("40_Add_Bias_GELU", "elementwise"),
        ("23_Softmax", "reduction"),
        ("4_Row_Sum", "reduction"),
        ("36_rmsnorm_", "reduction"),  # case-insensitive
        ("54_conv_standard_3D", None),
        ("2_Scale_Shift", None),
    ],
)
def test_family_routing(name, family):
    assert prompting.family_for(name) == family


@pytest.mark.parametrize("platform", ["cuda", "rocm", "cpu"])
def test_system_prompt_renders(platform):
    text = prompting.system_prompt(platform, "19_ReLU", **VARS)
    assert "$" not in text.replace("$$", "")  # every placeholder filled
    assert platform in text
    assert VARS["device_name"] in text and VARS["arch"] in text
    assert "10" in text  # max_attempts
    # the one-shot example: a reference Model and a complete ModelNew built with load_inline
    assert "class Model(nn.Module)" in text
    assert "class ModelNew(nn.Module)" in text
    assert "load_inline(" in text
    for tool in TOOLS:
        assert tool in text
    # the family advice is appended
    assert "elementwise" in text.lower()


def test_platform_specific_content():
    hip = prompting.system_prompt("rocm", "19_ReLU", **VARS)
    cuda = prompting.system_prompt("cuda", "19_ReLU", **VARS)
    cpu = prompting.system_prompt("cpu", "19_ReLU", **VARS)
    assert "#include <hip/hip_runtime.h>" in hip and "__shfl_xor(" in hip and "64" in hip
    assert "cuda_sources=" in hip and "cuda_sources=" in cuda
    assert "C10_CUDA_KERNEL_LAUNCH_CHECK" in cuda
    assert "cuda_sources=" not in cpu and "cpp_sources=" in cpu


def test_family_prompt_only_when_matched():
    gemm = prompting.system_prompt("cuda", "3_Small_Matmul", **VARS)
    plain = prompting.system_prompt("cuda", "54_conv_standard_3D", **VARS)
    assert "(out_features, in_features)" in gemm
    assert "Advice for this problem family" in gemm
    assert "Advice for this problem family" not in plain


def test_missing_variable_raises():
    partial = dict(VARS)
    del partial["max_attempts"]
    with pytest.raises(KeyError):
        prompting.system_prompt("cuda", "19_ReLU", **partial)


def test_unknown_platform_raises():
    with pytest.raises(ValueError):
        prompting.system_prompt("metal", "19_ReLU", **VARS)


def test_task_prompt():
    text = prompting.task_prompt("19_ReLU", 1, 2)
    assert "19_ReLU" in text and "level 1" in text and "sample 2" in text
    assert "read_reference" in text
    assert "19_ReLU" in prompting.task_prompt("19_ReLU", None, 0)


def test_every_tool_is_declared_once_with_its_schema_and_description():
    from tools import registry

    tools = registry.all_tools()
    assert tuple(tools) == TOOLS
    for t in tools.values():
        assert t.description.strip() and t.summary.strip()
    specs = {s.name: s for s in registry.tool_schemas()}
    assert set(specs) == set(TOOLS)
    assert specs["write_kernel"].args["source"]["description"].startswith("The whole Python file")
    assert registry.code_args("write_kernel") == {"source"} and registry.code_args("profile_kernel") == set()
    listed = registry.tool_list_text()
    assert all(f"`{name}" in listed for name in TOOLS) and "`write_kernel(source)`" in listed


def test_rules_text_names_banned_ops():
    text = prompting.rules_text(["torch.mm", "torch.matmul", "@"])
    assert "`torch.mm`" in text and "`@`" in text
    assert "1e-4" in text and "1e-2" in text
    assert "$" not in text


def test_every_referenced_prompt_file_exists():
    cfg = prompting.load_config()
    root = resources.files("prompts")
    files = list(cfg["system"].values()) + [cfg["task"], cfg.get("rules", "rules.md")]
    files += [fam["prompt"] for fam in cfg["families"]]
    for name in files:
        assert root.joinpath(name).is_file(), name
    from tools.platforms import names

    assert set(cfg["system"]) == set(names())  # every platform has its system prompt
    assert cfg["default_family"] is None or cfg["default_family"] in {f["name"] for f in cfg["families"]}


def test_load_config_returns_a_copy():
    cfg = prompting.load_config()
    cfg["families"].clear()
    assert prompting.load_config()["families"]


@pytest.mark.parametrize("platform", ["cuda", "rocm"])
def test_the_one_shot_answer_follows_the_build_time_advice(platform):
    """The model copies the example's includes, and <torch/extension.h> in the device unit more than
    doubles every build."""
    import re

    from tools.harness.build_notes import build_notes

    text = prompting.system_prompt(platform, "19_ReLU", **VARS)
    answers = [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "class ModelNew" in block]
    assert answers
    for answer in answers:
        assert build_notes(answer, platform) == []
        assert (
            "<torch/extension.h>" in build_notes(answer.replace("<torch/types.h>", "<torch/extension.h>"), platform)[0]
        )


def test_compile_only_prompts():
    text = prompting.compile_only_prompt("gfx942")
    assert text.startswith("# This run is compile-only") and "built for **gfx942**" in text
    assert "call `finish`" in text and "spills" in text and "$" not in text
    assert "no kernel has built yet" in prompting.compile_only_pushback_prompt()
