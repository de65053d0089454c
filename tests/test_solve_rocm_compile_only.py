"""`agent solve --platform rocm --arch gfx942` on a machine with no AMD GPU: a compile-only run, end to
end through the CLI with the scripted model (the only fake) and the real HIP compile-only toolchain. The
model reads the reference (shapes from the meta device, no reference time), writes a KernelBench-style
HIP kernel (with `os.environ["CXX"] = "hipcc"`), compiles it and finishes; the reports say built (not
run), and the run exits 0."""

import json
import re
import subprocess

import pytest

from tests.conftest import AGENT, DATA, agent_env
from tests.test_hip_compile_only import needs_toolchain
from tools.harness.build_only import gpu_present

pytestmark = pytest.mark.skipif(gpu_present(), reason="this machine has an AMD GPU: the full evaluator runs")

SCRIPT = {"1_Small_ReLU": ["hip/kernelbench_style/relu_cxx_hipcc.py"]}


def solve(out, *extra):
    cmd = AGENT + ["solve", "--dataset", str(DATA), "--level1", "--problem", "1_Small_ReLU", "--samples", "1"]
    cmd += ["--model", "tests.scripted_solver:factory", "--platform", "rocm", "--out", str(out), *extra]
    env = agent_env(HIPGEN_SCRIPT=json.dumps(SCRIPT), PYTORCH_ROCM_ARCH="", HIP_VISIBLE_DEVICES="")
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rocm-solve") / "results"
    proc = solve(out, "--arch", "gfx942", "--no-progress")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return out, proc


def tool_messages(out) -> list[dict]:
    recs = [json.loads(line) for line in (out / "1_Small_ReLU" / "trace_0.jsonl").read_text().splitlines()]
    return [r for r in recs if r["type"] == "message"], recs


@needs_toolchain
@pytest.mark.slow
def test_the_platform_line_says_compile_only(run):
    _, proc = run
    first = proc.stderr.strip().splitlines()[0]
    assert first == "platform rocm: compile-only for gfx942 (no AMD GPU here; kernels are built, not run)"
    assert "1 problem(s): success 0, partial 0, failed 0, built (not run) 1" in proc.stdout


@needs_toolchain
@pytest.mark.slow
def test_the_thread_reads_writes_compiles_and_finishes(run):
    out, _ = run
    msgs, recs = tool_messages(out)
    system = msgs[0]["message"]["data"]["content"]
    assert "# This run is compile-only" in system and "built for **gfx942**" in system
    calls = [c["name"] for m in msgs if m["message"]["type"] == "ai" for c in m["message"]["data"]["tool_calls"]]
    assert calls == ["read_reference", "write_kernel", "compile_kernel", "finish"]
    tools = {
        m["message"]["data"]["name"]: m["message"]["data"]["content"] for m in msgs if m["message"]["type"] == "tool"
    }
    ref = tools["read_reference"]
    assert "inputs (from get_inputs): (64, 4096) float32" in ref
    assert "reference time: not measured (compile-only: no AMD GPU here)" in ref
    built = tools["compile_kernel"]
    assert built.startswith("BUILD OK") and "compile-time resources for gfx942" in built
    assert re.search(r"- relu_f32: registers VGPR \d+ / AGPR \d+ / SGPR \d+, LDS 0 B, scratch 0 B, spills 0", built)
    assert "note: os.environ['CXX'] = 'hipcc' ignored: the harness picks the compiler" in built
    end = recs[-1]
    assert end["type"] == "end" and end["reason"] == "built" and "registers VGPR" in end["finish_reason"]
    assert end["attempts"] == 0  # a build uses no attempt


@needs_toolchain
@pytest.mark.slow
def test_reports_say_built_not_run(run):
    out, _ = run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"] == {"success": 0, "partial": 0, "failed": 0, "built": 1, "fragile": 0}
    assert summary["problems"]["1_Small_ReLU"]["status"] == "built"
    assert summary["unfinished_threads"] == []
    assert summary["config"]["device"]["arch"] == "gfx942"
    text = (out / "detailed_report.txt").read_text()
    assert "success 0  partial 0  failed 0  built (not run) 1" in text
    assert re.search(r"1_Small_ReLU\s+built \(not run\) best -", text)
    assert "    sample 0: built (not run); ended built: It builds and nothing can run here: relu_f32: registers" in text
    assert "code_0" in text and "not_run" not in text  # the built kernel is no error
    html = (out / "report.html").read_text()
    assert "Compile-only run for gfx942" in html and ">built (not run)</span>" in html
    assert "sample 0</a>: built (not run); ended built: " in html
    result = json.loads((out / "1_Small_ReLU" / "result_0.json").read_text())
    assert result["status"] == "ok" and result["compiled"] and not result["correct"]
    assert result["build"]["notes"] == ["os.environ['CXX'] = 'hipcc' ignored: the harness picks the compiler"]


def test_without_arch_is_one_sentence(tmp_path):
    proc = solve(tmp_path / "results")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == [
        "error: No AMD GPU is visible here, so a rocm run can only build its kernels, not run them: pass "
        "--arch gfx942 (MI300X/MI325X) or --arch gfx950 (MI350X/MI355X) to say which target to build for."
    ]
    assert not (tmp_path / "results" / "run_config.json").exists()
