"""Per-platform family prompts: rocm gets the HIP advice, HipKittens GEMM advice when configured."""

from importlib import resources

import pytest

from graphs import prompting

VARS = dict(arch="gfx950", device_name="AMD Instinct MI355X", target_speedup=1.0, max_attempts=10, goal="1x")
CUDA_VARS = dict(VARS, arch="sm_90", device_name="NVIDIA H100 80GB HBM3")


def test_rocm_gemm_gets_hip_gemm_prompt():
    text = prompting.system_prompt("rocm", "3_Small_Matmul", **VARS)
    assert "raw MFMA" in text and "__builtin_amdgcn_mfma_f32_16x16x16bf16_1k" in text
    assert "HipKittens is available" not in text
    assert "LDS is 64 KiB per CU on gfx942 and 160 KiB on gfx950" in text
    assert "size tiles for the target (`gfx950`)" in text  # $arch filled
    assert "(out_features, in_features)" in text and "as stored" in text


@pytest.mark.parametrize("branch", ["main", "cdna3"])
def test_rocm_gemm_with_hipkittens_gets_its_branchs_prompt(branch):
    text = prompting.system_prompt("rocm", "1_Linear_Bias_ReLU", variant=f"hipkittens-{branch}", **VARS)
    assert "HipKittens is available" in text and "mma_ABt" in text and "kittens.cuh" in text
    assert "raw MFMA" not in text and "$" not in text.replace("$$", "")
    assert f"from its **{branch}** branch" in text and "col_l" in text and "row_l" in text
    assert "shared_allocator" in text and "hipFuncAttributeMaxDynamicSharedMemorySize" in text
    assert "read_library" in text and "mfma_f32_16x16x4f32" in text  # exact-fp32 MFMA, not "use FMA"
    if branch == "main":
        assert "KITTENS_CDNA4" in text and "st_bf<ROWS, COLS, st_16x32_s>" in text and "160 KiB" in text
    else:
        assert "KITTENS_CDNA3" in text and "`st_bf<ROWS, COLS>`" in text and "64 KiB per workgroup" in text


def test_hipkittens_flag_only_changes_families_that_have_a_variant():
    for name in ("19_ReLU", "23_Softmax", "54_conv_standard_3D"):
        assert prompting.system_prompt("rocm", name, variant="hipkittens-main", **VARS) == prompting.system_prompt(
            "rocm", name, **VARS
        )


@pytest.mark.parametrize("name, marker", [("19_ReLU", "on AMD CDNA (HIP)"), ("23_Softmax", "on AMD CDNA (HIP)")])
def test_rocm_elementwise_and_reduction_prompts(name, marker):
    text = prompting.system_prompt("rocm", name, **VARS)
    assert marker in text


def test_rocm_prompts_carry_cdna_facts():
    red = prompting.system_prompt("rocm", "23_Softmax", **VARS)
    assert "0xffffffffffffffffULL" in red and "32, 16, 8, 4, 2, 1" in red and "not constexpr" in red
    ew = prompting.system_prompt("rocm", "19_ReLU", **VARS)
    assert "__hip_bfloat16" in ew and "hip_bfloat16" in ew and "__HIP_NO_HALF_OPERATORS__" in ew
    assert "FNUZ" in ew and "__bfloat162float" in ew
    base = prompting.system_prompt("rocm", "54_conv_standard_3D", **VARS)
    assert "XCD" in base and "FNUZ" in base and "160 KiB" in base


def test_cuda_and_cpu_unchanged():
    for name, fam_file in (
        ("3_Small_Matmul", "family_gemm.md"),
        ("19_ReLU", "family_elementwise.md"),
        ("23_Softmax", "family_reduction.md"),
    ):
        for platform in ("cuda", "cpu"):
            assert prompting.family_prompt_file(prompting.family_for(name), platform) == fam_file
            assert (
                prompting.family_prompt_file(prompting.family_for(name), platform, variant="hipkittens-main")
                == fam_file
            )
    cuda = prompting.system_prompt("cuda", "3_Small_Matmul", **CUDA_VARS)
    assert cuda == prompting.system_prompt("cuda", "3_Small_Matmul", variant="hipkittens-main", **CUDA_VARS)
    assert "raw MFMA" not in cuda and "HipKittens is available" not in cuda


def test_routing_table():
    assert prompting.family_prompt_file("gemm", "rocm") == "family_gemm_hip.md"
    assert prompting.family_prompt_file("gemm", "rocm", variant="hipkittens-main") == "family_gemm_hipkittens_main.md"
    assert prompting.family_prompt_file("gemm", "rocm", variant="hipkittens-cdna3") == "family_gemm_hipkittens_cdna3.md"
    assert prompting.family_prompt_file("gemm", "rocm", variant="hipkittens") == "family_gemm_hip.md"  # branch unknown
    assert prompting.family_prompt_file("gemm") == "family_gemm.md"
    with pytest.raises(KeyError):
        prompting.family_prompt_file("conv", "rocm")


def test_every_platform_variant_file_exists():
    root = resources.files("prompts")
    for fam in prompting.load_config()["families"]:
        for key, name in fam.get("platforms", {}).items():
            assert key.split("+")[0] in ("cuda", "rocm", "cpu"), key
            assert root.joinpath(name).is_file(), name
