"""Settings resolution, problem selection, and the one-line errors a user sees instead of tracebacks."""

import subprocess

import pytest

from agent.dataset import load_problems, parse_range, resolve_problem
from agent.settings import Settings, usable_cores
from tests.conftest import AGENT, DATA, agent_env
from tools.errors import DatasetError


def _no_cuda() -> str:
    """What --platform cuda says with no GPU to use: a CPU build of torch has no CUDA at all, a CUDA build
    (the GPU machines', or a laptop's) sees none once CUDA_VISIBLE_DEVICES hides them."""
    import torch

    return "no CUDA support" if not torch.version.cuda else "No NVIDIA GPU is visible"


NO_CUDA = _no_cuda()


def test_seed_environment_names(monkeypatch, tmp_path):
    for k, v in {
        "NUM_SAMPLES": "5",
        "MAX_ATTEMPTS": "7",
        "DATASET_BASE": str(tmp_path),
        "LLM_GATEWAY_KEY": "k",
        "PYTORCH_ROCM_ARCH": "gfx942",
    }.items():
        monkeypatch.setenv(k, v)
    s = Settings()
    assert (s.samples, s.max_attempts, s.dataset, s.api_key.get_secret_value()) == (5, 7, tmp_path, "k")
    from tools.platforms import get_platform

    no_probe = lambda: {}
    assert get_platform("rocm").build_arch(s.arch, no_probe) == "gfx942"
    assert get_platform("cuda").build_arch(s.arch, no_probe) is None
    assert s.public()["api_key"] == "***"


def test_flags_beat_env_beat_config_file(monkeypatch, tmp_path):
    cfg = tmp_path / "hipgen.toml"
    cfg.write_text("samples = 2\ntarget = 1.5\nmax_turns = 9\n")
    monkeypatch.setenv("HIPGEN_CONFIG", str(cfg))
    monkeypatch.setenv("NUM_SAMPLES", "4")
    s = Settings(max_turns=11)
    assert (s.samples, s.target, s.max_turns) == (4, 1.5, 11)


def test_spares_setting_reaches_the_evaluator(monkeypatch, tmp_path):
    from agent.runner import make_evaluator

    monkeypatch.setenv("HIPGEN_SPARES", "6")
    s = Settings(cache_dir=tmp_path)
    assert make_evaluator(s, "cpu").spare_depth() == 6


def test_a_run_keeps_one_spare_per_thread_at_most_one_per_core(monkeypatch, tmp_path):
    from agent.runner import make_evaluator

    cores = usable_cores()
    assert Settings(samples=1).spare_workers() == 1
    assert Settings(samples=3, concurrency=2).spare_workers() == min(2, cores)
    assert Settings(concurrency=cores + 7).spare_workers() == cores
    assert make_evaluator(Settings(samples=1, cache_dir=tmp_path), "cpu").spare_depth() == 1
    monkeypatch.setenv("HIPGEN_SPARES", str(cores + 3))  # asked for, it is not capped
    assert Settings(samples=1).spare_workers() == cores + 3


def test_every_setting_is_reachable_with_set_and_flags_beat_it():
    from agent.cli import _settings
    from graphs.budget import Budget
    from graphs.llm import LLMConfig
    from tools.harness.config import EvalConfig

    s = _settings(
        ["max_tokens=5000", "check_trials=2", "llm_retries=1", 'timeouts={"build": 7}', "samples=4"], samples=2
    )
    assert (s.max_tokens, s.check_trials, s.llm_retries, s.timeouts, s.samples) == (5000, 2, 1, {"build": 7.0}, 2)
    # each part gets its own section, defaults from the part's own model
    assert s.section(Budget) == Budget(max_tokens=5000)
    assert s.section(LLMConfig).llm_retries == 1 and s.section(EvalConfig).check_trials == 2
    assert set(Budget.model_fields) | set(LLMConfig.model_fields) | set(EvalConfig.model_fields) <= set(
        type(s).model_fields
    )


def test_both_dataset_layouts_and_selection(tmp_path):
    assert [p.name for p in load_problems(DATA, 1, "1-2")] == ["1_Small_ReLU", "2_Scale_Shift"]
    flat = DATA / "KernelBench"  # a folder holding level1/ directly
    assert [p.id for p in load_problems(flat, 1, None, "row")] == [4]
    assert load_problems(DATA, 2)[0].name == "1_Linear_Bias_ReLU"
    assert resolve_problem("1/3", DATA).name == "3_Small_Matmul"
    assert parse_range("1-3,7") == {1, 2, 3, 7}
    with pytest.raises(DatasetError, match="Bad --range"):
        parse_range("3-1")
    with pytest.raises(DatasetError, match="No level3 folder"):
        load_problems(DATA, 3)


@pytest.mark.parametrize(
    "args,env,needle",
    [
        (["solve", "--level1"], {"DATASET_BASE": ""}, "No dataset given: pass --dataset"),
        (["solve", "--dataset", "/nonexistent"], {}, "does not exist"),
        (["solve", "--dataset", str(DATA), "--range", "99"], {}, "No level1 problem"),
        (["solve", "--dataset", str(DATA), "--level1", "--level2"], {}, "Pick one level"),
        (["solve", "--dataset", str(DATA), "--samples", "0"], {}, "bad value for --samples: "),
        (
            ["solve", "--dataset", str(DATA), "--platform", "cpu"],
            {"HIPGEN_SPARES": "0"},
            "bad value for HIPGEN_SPARES: ",
        ),
        (["solve", "--dataset", str(DATA), "--platform", "gpu"], {}, "unknown platform 'gpu'"),
        (
            ["solve", "--dataset", str(DATA), "--model", "nosuch:thing", "--platform", "cpu"],
            {},
            "Unknown model backend 'nosuch'",
        ),
        (
            ["solve", "--dataset", str(DATA), "--model", "openai:gpt-4.1", "--platform", "cpu"],
            {"OPENAI_API_KEY": "", "LLM_GATEWAY_KEY": ""},
            "No API key for openai",
        ),
        (
            [
                "solve",
                "--dataset",
                str(DATA),
                "--model",
                "openai:x",
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--platform",
                "cuda",
            ],
            {"CUDA_VISIBLE_DEVICES": "-1"},  # hides any GPU from a CUDA build of torch
            NO_CUDA,
        ),
        (["solve", "--bogus"], {}, "No such option: --bogus"),
        (["eval", "missing.py", "--problem", "1/1", "--dataset", str(DATA)], {}, "does not exist"),
        (
            ["eval", "tests/kernels/cpu/good/relu.py", "--problem", "1/1", "--dataset", str(DATA), "--upto", "all"],
            {},
            "Bad --upto",
        ),
        (["trace", "/nonexistent"], {}, "does not exist"),
        (["solve", "--dataset", str(DATA), "--set", "nope=1"], {}, "Unknown setting 'nope' in --set: the settings are"),
        (["solve", "--dataset", str(DATA), "--set", "max_turns"], {}, "Bad --set 'max_turns': write it as NAME=VALUE"),
        (["solve", "--dataset", str(DATA), "--set", "check_trials=0"], {}, "bad value for --set check_trials: "),
        (["solve", "--dataset", str(DATA), "--until", "fast"], {}, "--until takes a speedup such as 2.0"),
    ],
)
def test_user_mistakes_get_one_line(args, env, needle, tmp_path):
    proc = subprocess.run(
        AGENT + args + (["--out", str(tmp_path / "r")] if args[0] == "solve" and "--bogus" not in args else []),
        env=agent_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()  # nothing is written for a run that never started


def test_problems_lists_with_prompt_family():
    proc = subprocess.run(AGENT + ["problems", "--dataset", str(DATA)], env=agent_env(), capture_output=True, text=True)
    assert proc.returncode == 0
    assert "3_Small_Matmul" in proc.stdout and "gemm" in proc.stdout


def test_eval_command_exit_codes_and_json(cache_dir):
    env = agent_env(HIPGEN_CACHE_DIR=str(cache_dir))
    ok = subprocess.run(
        AGENT
        + [
            "eval",
            "tests/kernels/cpu/good/relu.py",
            "--problem",
            "1/1",
            "--dataset",
            str(DATA),
            "--platform",
            "cpu",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ok.returncode == 0, ok.stderr
    import json

    data = json.loads(ok.stdout)
    assert data["compiled"] and data["correct"] and data["speedup"] > 0 and data["status"] == "ok"
    bad = subprocess.run(
        AGENT
        + [
            "eval",
            "tests/kernels/cpu/bad/relu_wrong.py",
            "--problem",
            str(DATA / "KernelBench/level1/1_Small_ReLU.py"),
            "--platform",
            "cpu",
            "--upto",
            "check",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bad.returncode == 1
    assert bad.stdout.startswith("INCORRECT: trial 1/6")  # 5 trials and the repeat


def test_eval_counters_flag_answers_on_the_cpu(cache_dir):
    env = agent_env(HIPGEN_CACHE_DIR=str(cache_dir))
    proc = subprocess.run(
        AGENT
        + [
            "eval",
            "tests/kernels/cpu/good/relu.py",
            "--problem",
            "1/1",
            "--dataset",
            str(DATA),
            "--platform",
            "cpu",
            "--upto",
            "check",
            "--counters",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("SPEEDUP")  # counters imply a full profile
    assert proc.stdout.rstrip().endswith("counters: there are no hardware counters on the cpu platform.")


def test_eval_strict_turns_fragile_into_exit_1(cache_dir):
    env = agent_env(HIPGEN_CACHE_DIR=str(cache_dir))
    base = AGENT + [
        "eval",
        "tests/kernels/cpu/fragile/relu_identity.py",
        "--problem",
        str(DATA / "fragile/rand_relu_small.py"),
        "--platform",
        "cpu",
        "--upto",
        "check",
    ]
    plain = subprocess.run(base + ["--json"], env=env, capture_output=True, text=True, timeout=600)
    assert plain.returncode == 0, plain.stderr
    import json

    data = json.loads(plain.stdout)
    assert data["correct"] and data["fragile"]
    strict = subprocess.run(base + ["--strict"], env=env, capture_output=True, text=True, timeout=600)
    assert strict.returncode == 1
    assert strict.stdout.startswith("INCORRECT: fragile (--strict): wrong on the benchmark's values with random signs")


def test_a_run_re_times_successes_from_its_target():
    assert Settings(target=1.5).eval_config().retime_at == 1.5
    assert Settings(target=1.5, retime_at=0.0).eval_config().retime_at == 0.0
