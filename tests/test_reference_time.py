"""read_reference's reference time is the figure profile_kernel's speedups are measured against."""

import re

from tests.conftest import KERNELS, problem


def _both_times(cache_dir, attempt: int) -> tuple[float, float]:
    """(read_reference's reference ms, profile_kernel's), each from a fresh evaluator and source."""
    from tools.harness.config import EvalConfig
    from tools.harness.evaluator import Evaluator
    from tools.registry import CandidateState, Workbench, call

    # The timing settings a run uses (the shared cpu_evaluator times less, for speed).
    evaluator = Evaluator(EvalConfig(platform="cpu", cache_dir=cache_dir))
    try:
        wb = Workbench(
            problem=problem("KernelBench/level1/1_Small_ReLU.py"), evaluator=evaluator, max_attempts=3, target=1.0
        )
        state = CandidateState()
        shown = call(wb, state, "read_reference", {})
        read_ms = float(re.search(r"reference time: ([0-9.e+-]+) ms median", shown.text).group(1))
        source = (KERNELS / "cpu" / "good" / "relu.py").read_text() + f"\n# attempt {attempt}\n"
        written = call(wb, state, "write_kernel", {"source": source})
        profiled = call(wb, state.model_copy(update=written.updates), "profile_kernel", {})
        assert profiled.text.startswith("SPEEDUP"), profiled.text
        return read_ms, profiled.artifact["timing"]["reference"]["median_ms"]
    finally:
        evaluator.close()


def test_read_reference_and_profile_kernel_agree_on_the_reference_time(cache_dir):
    # Before they were timed alike, read_reference said 0.55-0.65 ms and profile_kernel 0.19-0.26 ms, at
    # least 0.29 ms apart. Timed alike on two shared cores (another test building on the other core) they
    # have come out at 0.196 against 0.323 ms and 0.093 against 0.199 ms in one try, hence half the timed
    # figure, and up to three tries: the bug put every try apart, a busy neighbour rarely does.
    tries = []
    for attempt in range(3):
        read_ms, timed_ms = _both_times(cache_dir, attempt)
        tries.append((read_ms, timed_ms))
        if abs(read_ms - timed_ms) <= max(0.5 * timed_ms, 0.1):
            return
    raise AssertionError(f"read_reference and profile_kernel disagreed in every try: {tries}")
