"""The rocm platform on a machine with no AMD GPU: `agent eval --upto build` and the compile_kernel tool
compile for gfx942/gfx950 with the HIP compile-only toolchain (real clang, real subprocesses), and a
missing toolchain is one line that says how to install it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import problem
from tests.test_hip_compile_only import GFX950_ONLY, HIP, needs_toolchain
from tools.compile_kernel import compile_kernel
from tools.harness.build_only import BuildOnlyEvaluator, gpu_present
from tools.harness.config import EvalConfig
from tools.registry import CandidateState, NoArgs, Workbench

ROOT = Path(__file__).resolve().parent.parent
MATMUL = str(ROOT / "tests" / "data" / "KernelBench" / "level1" / "3_Small_Matmul.py")

pytestmark = pytest.mark.skipif(gpu_present(), reason="this machine has an AMD GPU: the full evaluator runs")


def agent_eval(kernel: Path, arch: str, upto: str = "build", env: dict | None = None):
    cmd = [sys.executable, "-m", "agent.cli", "eval", str(kernel), "--problem", MATMUL, "--platform", "rocm"]
    return subprocess.run(
        [*cmd, "--arch", arch, "--upto", upto],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@needs_toolchain
@pytest.mark.slow
def test_eval_upto_build_gfx950_only_kernel():
    ok = agent_eval(GFX950_ONLY, "gfx950")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "BUILD OK" in ok.stdout and "compile-time resources for gfx950" in ok.stdout
    assert "occupancy 8 waves/SIMD of 8 (limit: none)" in ok.stdout and "spills 0" in ok.stdout
    bad = agent_eval(GFX950_ONLY, "gfx942")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "BUILD FAILED: the HIP compile for gfx942 failed" in bad.stdout
    assert "'__builtin_amdgcn_mfma_f32_16x16x32_bf16' needs target feature gfx950-insts" in bad.stdout


def test_eval_without_toolchain_is_one_line(tmp_path):
    out = agent_eval(GFX950_ONLY, "gfx942", env={"HIP_TOOLCHAIN_ROOT": str(tmp_path)})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert lines == [
        "error: The HIP compile-only toolchain was not found: run scripts/install-hip-toolchain.sh (Debian 12), "
        "or set HIP_TOOLCHAIN_ROOT to where it unpacked HIP."
    ]


@needs_toolchain
def test_eval_upto_check_without_gpu_says_what_works():
    out = agent_eval(GFX950_ONLY, "gfx950", upto="check")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "`agent eval --upto build` compiles for --arch" in out.stderr


@needs_toolchain
@pytest.mark.slow
def test_compile_kernel_tool_without_gpu(tmp_path):
    ev = BuildOnlyEvaluator(EvalConfig(platform="rocm", arch="gfx942", cache_dir=tmp_path))
    wb = Workbench(problem=problem("KernelBench/level1/3_Small_Matmul.py"), evaluator=ev, max_attempts=3, target=1.0)
    good = CandidateState(candidate=(HIP / "good" / "gemm_mfma.py").read_text(), candidate_hash="a")
    reply = compile_kernel(wb, good, NoArgs())
    assert reply.text.startswith("BUILD OK") and "compile-time resources for gfx942" in reply.text
    assert "- linear_bf16_mfma: registers VGPR" in reply.text
    assert reply.updates["evaluated"] == []  # a build uses no attempt
    bad = CandidateState(candidate=GFX950_ONLY.read_text(), candidate_hash="b")
    reply = compile_kernel(wb, bad, NoArgs())
    assert reply.text.startswith("BUILD FAILED") and "needs target feature gfx950-insts" in reply.text
    assert ev.evaluate(wb.problem, good.candidate, "check").reason.startswith("not run: there is no AMD GPU here")
