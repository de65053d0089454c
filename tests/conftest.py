import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
KERNELS = ROOT / "tests" / "kernels"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One extension build cache for the whole session (and every xdist worker): identical kernel
    sources are built once."""
    if os.environ.get("HIPGEN_TEST_CACHE"):  # a build cache kept across pytest runs (GPU sessions)
        shared = Path(os.environ["HIPGEN_TEST_CACHE"])
        shared.mkdir(parents=True, exist_ok=True)
        return shared
    root = tmp_path_factory.getbasetemp()
    shared = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "hipgen-cache"
    shared.mkdir(parents=True, exist_ok=True)
    return shared


@pytest.fixture(scope="session")
def cpu_evaluator(cache_dir):
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator

    cfg = EvalConfig(platform="cpu", cache_dir=cache_dir, check_trials=3, time_budget_s=0.2, max_timing_trials=30)
    cfg.timeouts.update({"check": 20.0, "profile": 60.0, "time": 60.0})
    return Evaluator(cfg)


def problem(rel: str):
    from tools.problem import Problem

    return Problem.from_file(DATA / rel)


def agent_env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for k, v in extra.items():
        if v == "":
            env.pop(k, None)
        else:
            env[k] = v
    return env


AGENT = [sys.executable, "-m", "agent.cli"]
