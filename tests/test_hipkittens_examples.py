"""Each HipKittens branch's GEMM prompt ends with a complete bf16 nn.Linear example (ModelNew). It must build,
through the CLI's rocm build-only path, for its branch's arch (main: gfx950, cdna3: gfx942), and main's
must be refused for gfx942 with the branch-mismatch line. The builds need HipKittens' headers (main and
cdna3, under shared/third_party/hipkittens next to the checkout, or where HIPKITTENS_HEADERS points; they
are not ours to ship) and skip without them, everywhere; and the HIP compile-only toolchain
(scripts/install-hip-toolchain.sh), which CI must have."""

import ast
import os
import re
import string
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AGENT, DATA, ROOT, agent_env

HIPKITTENS = Path(
    os.environ.get("HIPKITTENS_HEADERS") or Path(__file__).resolve().parents[2] / "shared/third_party/hipkittens"
)
PROBLEM = DATA / "hip" / "level1" / "1_Linear_Bias_BF16.py"
ARCH_OF_BRANCH = {"main": "gfx950", "cdna3": "gfx942"}
MISMATCH = "is HipKittens' main branch, which builds for gfx950, not gfx942"


def _why_skip() -> str | None:
    missing = [b for b in ARCH_OF_BRANCH if not (HIPKITTENS / b / "include" / "kittens.cuh").is_file()]
    if missing:
        return f"HipKittens' {' and '.join(missing)} headers are not under {HIPKITTENS} (set HIPKITTENS_HEADERS)"
    if os.environ.get("CI"):  # CI must have the toolchain
        return None
    if not Path("/opt/hip-toolchain").is_dir() and not os.environ.get("HIP_TOOLCHAIN_ROOT"):
        return "the HIP toolchain was not found (scripts/install-hip-toolchain.sh, or set HIP_TOOLCHAIN_ROOT)"
    return None


needs_hipkittens_and_toolchain = pytest.mark.skipif(_why_skip() is not None, reason=_why_skip() or "")


def example(branch: str) -> str:
    """The branch prompt's ModelNew, as the model reads it (after string.Template: `$$` becomes `$`)."""
    text = string.Template((ROOT / "prompts" / f"family_gemm_hipkittens_{branch}.md").read_text()).safe_substitute()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "class ModelNew" in b]
    assert len(blocks) == 1, f"{branch}: expected one python block with class ModelNew, found {len(blocks)}"
    return blocks[0]


def build(tmp_path: Path, branch: str, arch: str, root_branch: str) -> subprocess.CompletedProcess:
    kernel = tmp_path / f"hipkittens_{branch}.py"
    kernel.write_text(example(branch))
    cmd = ["eval", str(kernel), "--problem", str(PROBLEM), "--platform", "rocm", "--arch", arch, "--upto", "build"]
    env = agent_env(HIPKITTENS_ROOT=str(HIPKITTENS / root_branch))
    return subprocess.run(AGENT + cmd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("branch", sorted(ARCH_OF_BRANCH))
def test_example_uses_its_branchs_api(branch):
    src = example(branch)
    ast.parse(src)
    for needed in (
        '#include "kittens.cuh"',
        "using namespace kittens;",
        "gl<bf16",
        "shared_allocator",
        "extern __shared__",
        "row_l",
        "col_l>",
        "mma_ABt(acc, a, bt, acc)",
        "add_col(",
        "hipFuncSetAttribute(",
        "hipFuncAttributeMaxDynamicSharedMemorySize",
        "hipLaunchKernelGGL(",
        "TORCH_CHECK(",
        '"-std=c++20"',
        "nn.Linear(in_features, out_features, dtype=torch.bfloat16)",
    ):
        assert needed in src, f"{branch}: {needed!r} missing"
    assert "$" not in src
    if branch == "main":
        assert "st_bf<BM, BK, st_16x32_s>" in src and "rt_16x32_s" in src
    else:
        assert "st_bf<BM, BK>;" in src and "_s>" not in src and "-U__HIP_NO_HALF_CONVERSIONS__" in src


@needs_hipkittens_and_toolchain
@pytest.mark.parametrize("branch", sorted(ARCH_OF_BRANCH))
def test_example_builds_for_its_branchs_arch(tmp_path, branch):
    proc = build(tmp_path, branch, ARCH_OF_BRANCH[branch], branch)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_hipkittens_and_toolchain
def test_main_example_for_gfx942_is_refused_with_the_branch_mismatch(tmp_path):
    proc = build(tmp_path, "main", "gfx942", "main")
    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    assert MISMATCH in proc.stdout + proc.stderr
