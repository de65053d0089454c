"""Timing you can trust: for a few CUDA kernels, the harness's median against triton's do_bench and
against ncu's gpu__time_duration, and two separate evaluations of the same kernel against each other.
Prints a table. Run on a GPU machine: python -m tests.benchmarks.timing_agreement [CACHE_DIR]"""

import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "tests" / "kernels"
GPU = ROOT / "tests" / "data" / "gpu" / "level1"
CASES = [
    ("cuda/good/relu.py", "19_Big_ReLU.py"),
    ("cuda/good/softmax.py", "23_Row_Softmax.py"),
    ("cuda/good/bias_gelu.py", "40_Add_Bias_GELU.py"),
]
CALLS = 20
ARCH = "9.0"


def ours(cache: Path, kernel: str, problem: str):
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    ev = Evaluator(EvalConfig(platform="cuda", cache_dir=cache, time_budget_s=2.0))
    source = (KERNELS / kernel).read_text()
    r = ev.evaluate(Problem.from_file(GPU / problem), source, "profile")
    assert r.status.value == "ok", r.reason
    ev.close()
    return r, ev.build_dir(source)


def in_process(build_dir: Path, kernel: str, problem: str) -> dict[str, float]:
    """The candidate timed in this process on one input set: triton's do_bench (which flushes the
    cache with a memset), and the harness's batched timer with each kind of flush, to show what the
    flush itself adds to a call's window."""
    import torch
    import triton

    from tools.platforms.cuda import CudaPlatform

    os.environ["TORCH_EXTENSIONS_DIR"] = str(build_dir)
    os.environ["TORCH_CUDA_ARCH_LIST"] = ARCH  # the harness's flags, so the cached build is reused
    from tests.benchmarks.run_candidate import load

    ref = load(GPU / problem, f"ref_{problem[:-3]}")
    cand = load(KERNELS / kernel, f"cand_{Path(kernel).stem}")
    model = cand.ModelNew(*ref.get_init_inputs()).cuda()
    with torch.device("cuda"):
        inputs = list(ref.get_inputs())
    platform = CudaPlatform()
    buf = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    flushes = {"memset loop": buf.zero_, "read loop": platform.make_flush()}
    out = {}
    with torch.no_grad():
        out["do_bench"] = triton.testing.do_bench(lambda: model(*inputs), warmup=100, rep=1000, return_mode="median")
        for name, flush in flushes.items():
            samples = []
            for _ in range(4):
                samples += [ms for ms, _ in platform.time_batch([lambda: model(*inputs)] * 32, flush)]
            out[name] = statistics.median(samples[8:])
    return out


def ncu(build_dir: Path, kernel: str, problem: str, own: list[str]) -> float | None:
    exe = shutil.which("ncu")
    if not exe:
        return None
    log = Path(tempfile.mkdtemp()) / "ncu.csv"
    env = dict(os.environ, TORCH_EXTENSIONS_DIR=str(build_dir), TORCH_CUDA_ARCH_LIST=ARCH, PYTHONPATH=str(ROOT))
    regex = "|".join(own)
    cmd = [
        exe,
        "--csv",
        "--page",
        "raw",
        "--metrics",
        "gpu__time_duration.sum",
        "--clock-control",
        "none",
        "-k",
        f"regex:{regex}",
        "--log-file",
        str(log),
        sys.executable,
        "-m",
        "tests.benchmarks.run_candidate",
        str(KERNELS / kernel),
        str(GPU / problem),
        str(CALLS),
    ]
    subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    rows = list(
        csv.DictReader(io.StringIO("\n".join(ln for ln in log.read_text().splitlines() if not ln.startswith("=="))))
    )
    durations = [
        float(r["gpu__time_duration.sum"].replace(",", "")) for r in rows[1:] if r.get("gpu__time_duration.sum")
    ]
    per_call = len(durations) // CALLS or 1
    calls = [sum(durations[i : i + per_call]) for i in range(0, len(durations) - per_call + 1, per_call)]
    return statistics.median(calls[2:] or calls) / 1e6  # ns -> ms, first calls warm the clocks


def prebuild(cache: Path) -> dict[str, Path]:
    """Every kernel built up front, all at once: through the harness (its sandboxed build, into the cache)
    and then in a private copy of that build at this process's paths, where load_inline builds it again
    (about 45 s a kernel on the H200 machine, one after another before). The copy also means a run cut
    off mid-build leaves no lock file in the cache that later workers would wait on."""
    from concurrent.futures import ThreadPoolExecutor

    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.problem import Problem

    ev = Evaluator(EvalConfig(platform="cuda", cache_dir=cache))
    with ThreadPoolExecutor(len(CASES)) as pool:
        built = list(
            pool.map(lambda c: ev.evaluate(Problem.from_file(GPU / c[1]), (KERNELS / c[0]).read_text(), "build"), CASES)
        )
    private = {}
    for (kernel, _), r in zip(CASES, built, strict=False):
        assert r.status.value == "ok", r.reason
        build_dir = ev.build_dir((KERNELS / kernel).read_text())
        private[kernel] = Path(tempfile.mkdtemp(prefix="hipgen-agree-build-")) / build_dir.name
        shutil.copytree(build_dir, private[kernel])
    ev.close()
    env = lambda kernel: dict(os.environ, TORCH_EXTENSIONS_DIR=str(private[kernel]), TORCH_CUDA_ARCH_LIST=ARCH)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks.run_candidate", str(KERNELS / k), str(GPU / p), "1"],
            env=env(k),
            cwd=ROOT,
        )
        for k, p in CASES
    ]
    assert all(proc.wait(timeout=600) == 0 for proc in procs), "a private build failed"
    return private


def main():
    global ARCH
    import torch

    cache = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="hipgen-agree-"))
    ARCH = "{}.{}".format(*torch.cuda.get_device_capability())
    from tools.harness.source_extract import extract_sources

    private = prebuild(cache)
    rows = []
    for kernel, problem in CASES:
        (first, _), (second, _) = ours(cache, kernel, problem), ours(cache, kernel, problem)
        a, b = first.timing.candidate.median_ms, second.timing.candidate.median_ms
        local = in_process(private[kernel], kernel, problem)
        nc = ncu(private[kernel], kernel, problem, extract_sources((KERNELS / kernel).read_text()).kernel_names)
        rows.append((kernel, a, b, local, nc))
    pct = lambda x, y: f"{100 * (x - y) / y:+.1f}%" if y else "n/a"
    print(
        f"{'kernel':<24}{'ours ms':>10}{'again ms':>10}{'again':>8}{'do_bench':>10}{'vs ours':>9}{'ncu ms':>10}"
        f"{'vs ours':>9}{'memset loop':>13}{'read loop':>11}"
    )
    for kernel, a, b, local, nc in rows:
        db = local["do_bench"]
        print(
            f"{kernel:<24}{a:>10.4f}{b:>10.4f}{pct(b, a):>8}{db:>10.4f}{pct(a, db):>9}"
            f"{(f'{nc:.4f}' if nc else 'n/a'):>10}{pct(a, nc) if nc else 'n/a':>9}"
            f"{local['memset loop']:>13.4f}{local['read loop']:>11.4f}"
        )
    print(
        "ours: the harness's candidate median (read flush, fresh inputs per call) from two separate evaluations;"
        " vs ours: ours against that column; memset/read loop: the harness's batched timer in this process on one"
        " input set with each kind of cache flush"
    )


if __name__ == "__main__":
    main()
