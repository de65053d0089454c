"""The rocm platform on a machine with no AMD GPU: `agent eval --upto build` and the compile_kernel tool
compile for gfx942/gfx950 with the HIP compile-only toolchain (real clang, real subprocesses), and a
missing toolchain is one line that says how to install it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import problem
from tests.test_hip_compile_only import GFX950_ONLY, HIP, needs_toolchain
from tools.check_correctness import check_correctness
from tools.compile_kernel import compile_kernel
from tools.errors import PlatformError
from tools.feedback import status_text
from tools.harness.build_only import BuildOnlyEvaluator, gpu_present
from tools.harness.config import EvalConfig
from tools.harness.results import Status
from tools.problem import Problem
from tools.read_reference import read_reference
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
    not_run = ev.evaluate(wb.problem, good.candidate, "check")
    assert not_run.status == Status.not_run and not_run.compiled and not not_run.correct
    assert status_text(not_run, "check").startswith("NOT RUN: there is no AMD GPU here, so only the build for gfx942")
    checked = check_correctness(wb, good.model_copy(update={"evaluated": []}), NoArgs())
    assert checked.text.startswith("NOT RUN: ") and checked.updates["evaluated"] == []  # no attempt used
    assert "attempts so far" not in checked.text


@needs_toolchain
def test_read_reference_without_gpu(tmp_path):
    """The shapes come from get_inputs() on the meta device (nothing allocated); no reference time."""
    ev = BuildOnlyEvaluator(EvalConfig(platform="rocm", arch="gfx950", cache_dir=tmp_path))
    wb = Workbench(problem=problem("KernelBench/level1/3_Small_Matmul.py"), evaluator=ev, max_attempts=3, target=1.0)
    text = read_reference(wb, CandidateState(), NoArgs()).text
    assert "platform rocm: no AMD GPU (compile-only for gfx950) arch gfx950" in text
    assert "inputs (from get_inputs): (128, 256) float32, (256, 128) float32" in text
    assert "reference time: not measured (compile-only: no AMD GPU here)" in text
    broken = tmp_path / "9_Cuda_Inputs.py"
    broken.write_text(
        "import torch\nclass Model(torch.nn.Module):\n    def forward(self, x):\n        return x\n"
        "def get_inputs():\n    return [torch.randn(4).cuda()]\ndef get_init_inputs():\n    return []\n"
    )
    wb = Workbench(problem=Problem.from_file(broken), evaluator=ev, max_attempts=3, target=1.0)
    text = read_reference(wb, CandidateState(), NoArgs()).text
    assert re.search(r"inputs \(from get_inputs\): not computed \(get_inputs\(\) on the meta device: \w+Error: ", text)


@needs_toolchain
def test_solve_needs_an_arch_named_without_gpu(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTORCH_ROCM_ARCH", raising=False)
    config = EvalConfig(platform="rocm", cache_dir=tmp_path)
    with pytest.raises(PlatformError, match=r"pass --arch gfx942 \(MI300X/MI325X\) or --arch gfx950"):
        BuildOnlyEvaluator(config, arch_required=True)
    assert BuildOnlyEvaluator(config).arch() == "gfx950"  # agent eval --upto build keeps its default
    monkeypatch.setenv("PYTORCH_ROCM_ARCH", "gfx942")
    assert BuildOnlyEvaluator(config, arch_required=True).arch() == "gfx942"
