"""The CLI's answers to a user's mistakes, through the real `agent` in a subprocess: one line naming
what is wrong and what to do, exit code 2, no traceback, nothing written."""

import json
import re
import subprocess
from importlib.metadata import version

import pytest

from tests.conftest import AGENT, DATA, KERNELS, ROOT, agent_env

RELU = str(KERNELS / "cpu/good/relu.py")
# Bytes that are not UTF-8 text (0x89 cannot start a UTF-8 sequence), with a NUL, as in a PNG's header.
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


def agent(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(AGENT + list(args), env=agent_env(**env), capture_output=True, text=True, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_version_comes_from_the_package_metadata():
    proc = agent("--version")
    assert proc.returncode == 0, proc.stderr
    declared = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    assert proc.stdout == f"hipgenerator {version('hipgenerator')}\n" == f"hipgenerator {declared}\n"


def test_eval_of_a_binary_kernel_file(tmp_path):
    kernel = tmp_path / "kernel.py"
    kernel.write_bytes(BINARY)
    line = one_line_error(agent("eval", str(kernel), "--problem", "1/1", "--dataset", str(DATA)))
    assert f"Kernel file {kernel} is not text" in line and "give a Python source file" in line


def test_eval_with_a_binary_problem_file(tmp_path):
    prob = tmp_path / "1_Problem.py"
    prob.write_bytes(BINARY)
    line = one_line_error(agent("eval", RELU, "--problem", str(prob)))
    assert f"Problem file {prob} is not text" in line


def test_eval_of_a_folder_asks_for_a_kernel_file(tmp_path):
    line = one_line_error(agent("eval", str(tmp_path), "--problem", "1/1", "--dataset", str(DATA)))
    assert line == f"error: {tmp_path} is a folder: give agent eval a kernel file (a Python file defining ModelNew)."


def test_eval_of_a_problem_id_the_level_lacks():
    line = one_line_error(agent("eval", RELU, "--problem", "1/99", "--dataset", str(DATA)))
    assert f"Level 1 has no problem 99 in {DATA / 'KernelBench' / 'level1'}" in line
    assert "--range" not in line and "agent problems --level1" in line
    assert "no problem named like 'Nope'" in one_line_error(
        agent("eval", RELU, "--problem", "1/Nope", "--dataset", str(DATA))
    )


def test_a_malformed_config_file_names_the_file_and_where(tmp_path):
    cfg = tmp_path / "hipgen.toml"
    cfg.write_text("samples = 2\ntarget = = 1.5\n")
    line = one_line_error(agent("problems", "--dataset", str(DATA), HIPGEN_CONFIG=str(cfg)))
    assert f"{cfg} (HIPGEN_CONFIG) is not valid TOML" in line and "(at line 2, column 10)" in line


def test_a_missing_config_file_is_refused(tmp_path):
    cfg = tmp_path / "nowhere.toml"
    proc = agent("problems", "--dataset", str(DATA), HIPGEN_CONFIG=str(cfg))
    assert one_line_error(proc) == (
        f"error: HIPGEN_CONFIG names {cfg}, which is not there: point it at a TOML settings file or unset it."
    )
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "toml,env,args,where",
    [
        (
            "max_attempts = 0\n",
            {},
            [],
            "bad value for max_attempts in {cfg}: Input should be greater than or equal to 1",
        ),
        ("MAX_ATTEMPTS = 0\n", {}, [], "bad value for MAX_ATTEMPTS in {cfg}: "),
        ('timeouts = {build = "long"}\n', {}, [], "bad value for timeouts['build'] in {cfg}: "),
        ("nope = 1\n", {}, [], "nope in {cfg} is not a setting: the settings are "),
        # the environment beats the file, so its bad value is the environment variable's
        ("max_attempts = 2\n", {"MAX_ATTEMPTS": "0"}, [], "bad value for MAX_ATTEMPTS: "),
        ("spares = 2\n", {"HIPGEN_SPARES": "0"}, [], "bad value for HIPGEN_SPARES: "),
        ("check_trials = 2\n", {}, ["--set", "check_trials=0"], "bad value for --set check_trials: "),
    ],
)
def test_a_bad_value_is_named_where_it_was_written(tmp_path, toml, env, args, where):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(toml)
    cmd = ["eval", RELU, "--problem", "1/1", "--dataset", str(DATA), *args]
    line = one_line_error(agent(*cmd, HIPGEN_CONFIG=str(cfg), **env))
    assert where.format(cfg=cfg) in line
    if env or args:
        assert str(cfg) not in line


def _snapshot(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def test_report_on_a_folder_with_no_run_writes_nothing(tmp_path):
    (tmp_path / "notes.txt").write_text("not a run\n")
    (tmp_path / "1_Small_ReLU").mkdir()  # a problem's name, but no result or trace in it
    (tmp_path / "1_Small_ReLU" / "code_0.py").write_text("x = 1\n")
    before = _snapshot(tmp_path)
    line = one_line_error(agent("report", str(tmp_path)))
    assert line.startswith(f"error: {tmp_path} holds no run (no run_config.json, no problem folder")
    assert _snapshot(tmp_path) == before


def test_report_on_problem_folders_alone_still_reports(tmp_path):
    """A run folder whose run_config.json is gone is still a run: its problem folders say so."""
    prob = tmp_path / "1_Small_ReLU"
    prob.mkdir()
    (prob / "code_0.py").write_text("x = 1\n")
    result = {"n": 0, "sample": 0, "code_file": "code_0.py", "status": "incorrect", "correct": False, "reason": "r"}
    (prob / "result_0.json").write_text(json.dumps(result))
    proc = agent("report", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "summary.json").is_file() and "1_Small_ReLU" in proc.stdout
