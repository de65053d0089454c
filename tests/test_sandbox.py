"""Candidate code cannot leave its sandbox. Two probes (tests/kernels/cpu/probe), one acting from its C++
and one from Python through modules no source rule names, try on every call to write the harness, a
results folder and another candidate's build, to read secrets in the home folder, /tmp and the project,
and to reach a listener on the loopback. Inside the sandbox every attempt fails and the probe is judged
like any honest kernel; outside it (--unsafe-no-sandbox) the same probe gets through, so the test can
fail."""

from __future__ import annotations

import secrets
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import AGENT, DATA, KERNELS, ROOT, agent_env, problem

RELU = "KernelBench/level1/1_Small_ReLU.py"
SECRET = "hipgen-probe-secret"
PROBES = ["escape_native.py", "escape_python.py"]


class Targets:
    """Secret files, places to write and a listener, made for one test and removed after it."""

    def __init__(self, cache_dir: Path, evaluator):
        token = secrets.token_hex(4)
        self.secrets = [
            Path.home() / f".hipgen-probe-{token}",
            Path(tempfile.gettempdir()) / f"hipgen-probe-{token}",
            ROOT / f".hipgen-probe-{token}",
        ]
        for f in self.secrets:
            f.write_text(f"api_key = '{SECRET}'\n")
        self.results = ROOT / f"results-probe-{token}"
        self.results.mkdir()
        honest = (KERNELS / "cpu/good/relu.py").read_text()
        assert evaluator.evaluate(problem(RELU), honest, "check").correct
        self.entry = evaluator.build_dir(honest)
        assert (self.entry / ".built").exists()
        self.writes = [
            ROOT / "tools" / "harness" / f".probe-{token}",
            self.results / "probe.txt",
            self.entry / f"probe-{token}.txt",
            cache_dir / "headers" / f"probe-{token}.txt",  # the precompiled headers every build reads
        ]
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]

    def probe(self, name: str) -> str:
        """The probe's source with these targets filled in."""
        src = (KERNELS / "cpu" / "probe" / name).read_text()
        src = src.replace("READS: list = []", f"READS: list = {[str(p) for p in self.secrets]!r}")
        src = src.replace("WRITES: list = []", f"WRITES: list = {[str(p) for p in self.writes]!r}")
        return src.replace("PORT = 0", f"PORT = {self.port}")

    def written(self) -> list[Path]:
        return [p for p in self.writes if p.exists()]

    def connections(self) -> int:
        n = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return n
            conn.close()
            n += 1

    def remove(self) -> None:
        self.listener.close()
        for p in [*self.secrets, *self.writes]:
            p.unlink(missing_ok=True)
        for p in self.results.iterdir():
            p.unlink()
        self.results.rmdir()


@pytest.fixture
def targets(cache_dir, cpu_evaluator):
    t = Targets(cache_dir, cpu_evaluator)
    yield t
    t.remove()


@pytest.mark.parametrize("name", PROBES)
def test_a_probe_reaches_nothing_and_is_judged_like_any_kernel(name, targets, cpu_evaluator):
    harness = (ROOT / "tools" / "harness" / "timing.py").read_bytes()
    r = cpu_evaluator.evaluate(problem(RELU), targets.probe(name), "profile")
    assert r.correct and r.speedup and r.speedup > 0, r.reason + r.log_tail  # no secret was read
    assert targets.written() == [] and targets.connections() == 0
    assert (ROOT / "tools" / "harness" / "timing.py").read_bytes() == harness
    # the other candidate's build is intact and still serves it
    honest = (KERNELS / "cpu/good/relu.py").read_text() + "\n# the same build, another candidate\n"
    assert cpu_evaluator.evaluate(problem(RELU), honest, "check").correct


def test_outside_the_sandbox_the_same_probe_gets_through(targets, cache_dir):
    """The control: with --unsafe-no-sandbox the native probe reads, writes and connects."""
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator

    unsafe = Evaluator(
        EvalConfig(
            platform="cpu", cache_dir=cache_dir, check_trials=2, time_budget_s=0.1, max_timing_trials=10, sandbox=False
        )
    )
    try:
        r = unsafe.evaluate(problem(RELU), targets.probe("escape_native.py"), "check")
    finally:
        unsafe.close()
    assert not r.correct and "outside atol" in r.reason  # it read a secret, so its output is off by one
    assert set(targets.written()) == set(targets.writes)
    assert targets.connections() >= 1


def test_the_build_cache_is_written_by_the_harness_alone(cpu_evaluator, cache_dir):
    """A build made from the candidate's load_inline arguments runs none of its Python: a candidate that
    writes into its build folder at import time leaves nothing in the shared cache entry."""
    from tools.harness.source_extract import extract_sources

    src = (KERNELS / "cpu/good/relu.py").read_text().replace("#include <cstdint>", "#include <cstdint>  // v2")
    tamper = src.replace(
        "class ModelNew",
        'import os\nimport numpy as np\n\nnp.zeros(4, dtype=np.uint8).tofile(os.environ["TORCH_EXTENSIONS_DIR"] + '
        '"/tampered")\n\n\nclass ModelNew',
    )
    assert extract_sources(tamper).build_calls is not None  # the harness builds it from the arguments
    assert not (cpu_evaluator.build_dir(tamper) / ".built").exists()  # a build of its own, made now
    r = cpu_evaluator.evaluate(problem(RELU), tamper, "check")
    assert r.correct, r.reason + r.log_tail  # it ran, and wrote into the copy of its build it was given
    assert (cpu_evaluator.build_dir(tamper) / ".built").exists()
    assert not list((cache_dir / "extensions").glob("*/tampered"))


def test_no_sandbox_stops_a_run_with_one_line_unless_asked(tmp_path, cache_dir):
    kernel = str(KERNELS / "cpu/good/relu.py")
    args = ["eval", kernel, "--problem", str(DATA / RELU), "--platform", "cpu", "--upto", "build"]
    env = agent_env(HIPGEN_BWRAP=str(tmp_path / "no-bwrap"), HIPGEN_CACHE_DIR=str(cache_dir))
    refused = subprocess.run(AGENT + args, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "bubblewrap (bwrap) is not installed" in refused.stderr and "--unsafe-no-sandbox" in refused.stderr
    solve = subprocess.run(
        AGENT
        + ["solve", "--dataset", str(DATA), "--platform", "cpu", "--out", str(tmp_path / "r"), "--model", "openai:x"]
        + ["--base-url", "http://127.0.0.1:9/v1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert solve.returncode == 2 and "bubblewrap (bwrap) is not installed" in solve.stderr
    unsafe = subprocess.run(
        AGENT + [*args, "--unsafe-no-sandbox"], env=env, capture_output=True, text=True, timeout=600
    )
    assert unsafe.returncode == 0, unsafe.stderr + unsafe.stdout


def test_a_jailed_spare_outlives_the_thread_that_asked_for_it(tmp_path):
    """bwrap's --die-with-parent follows the thread that started the worker: a spare started for an
    evaluation thread that has since ended (a build pool's, a finished sample's) must still be alive
    when the next evaluation takes it."""
    import threading

    from tools.harness.jail import Jail
    from tools.harness.sandbox import scrubbed_env
    from tools.harness.spares import SparePool

    (tmp_path / "home").mkdir()
    env = scrubbed_env({}, tmp_path / "home")
    pool = SparePool(tmp_path / "spares", jail=Jail([]))
    try:
        asker = threading.Thread(target=pool.replenish, args=(env,))
        asker.start()
        asker.join()
        spare = pool.take_ready(env, timeout=120)
        assert spare is not None and spare.proc.poll() is None
        spare.proc.stdin.close()
        assert spare.proc.wait(timeout=60) == 0
    finally:
        pool.close()


def test_a_precompiled_header_is_made_only_for_flags_known_safe():
    """The harness compiles torch's header outside the sandbox with the candidate's extra_cflags, so only
    flags that change code generation, shared by every call, get one."""
    from tools.platforms.cpu_pch import extra_cflags

    def call(*args, **kwargs):
        return {"args": ["ext", "int f();", *args], "kwargs": kwargs}

    assert extra_cflags([call(extra_cflags=["-O3"])]) == ["-O3"]
    assert extra_cflags([call(), call(extra_cflags=[])]) == []
    assert extra_cflags([call(extra_cflags=[" -O2 ", "-march=native"])]) == ["-O2", "-march=native"]
    for bad in (["-O3", "-fplugin=/tmp/x.so"], ["-wrapper", "sh"], ["-include", "/etc/passwd"], ["-DX=1"]):
        assert extra_cflags([call(extra_cflags=bad)]) is None, bad
    assert extra_cflags([call(extra_cflags=["-O3"]), call(extra_cflags=["-O2"])]) is None
    assert extra_cflags([call("__global__ void k() {}")]) is None  # cuda_sources, by position
    assert extra_cflags([call(extra_include_paths=["/tmp"])]) is None
    assert extra_cflags(None) is None
