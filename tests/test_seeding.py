"""Search across samples (agent.seeding): which kernels a later sample starts from, read from the
results on disk."""

from __future__ import annotations

from agent.seeding import describe, seed_text, starting_kernels
from agent.store import RunStore
from tests.test_verdict import _timed
from tools.harness.results import EvalResult, Status


def test_the_best_distinct_kernels_robust_first(tmp_path):
    store = RunStore(tmp_path, target=1.0).problem("1_A")
    slow = _timed(1.0, 1.0, speedup=0.8)
    slow.profile.sol_pct, slow.profile.bound = 40.0, "memory"
    store.record(0, "slow", slow, "plain loop")
    store.record(0, "fragile", _timed(1.0, 1.0, speedup=3.0, fragile=True), "no tail")
    store.record(1, "fast", _timed(2.0, 2.0, speedup=1.5), "float4")
    store.record(1, "wrong", EvalResult(status=Status.incorrect, source_hash="w"), "oops")
    kernels = starting_kernels(store.dir, 2)
    assert [(k["source"], k["note"]) for k in kernels] == [("fast", "float4"), ("slow", "plain loop")]
    assert describe(kernels[1]) == (
        "candidate 0 of sample 0: 0.800x, 40% of the speed-of-light floor (memory-bound); note: plain loop"
    )
    assert [k["source"] for k in starting_kernels(store.dir, 5)] == ["fast", "slow", "fragile"]
    assert "FRAGILE" in describe(starting_kernels(store.dir, 5)[2])
    text = seed_text(kernels)
    assert "faster than 1.500x" in text and "```python\nfast\n```" in text


def test_no_correct_kernel_yet_means_no_seeds(tmp_path):
    store = RunStore(tmp_path, target=1.0).problem("1_A")
    store.record(0, "wrong", EvalResult(status=Status.incorrect, source_hash="w"))
    assert starting_kernels(store.dir, 2) == []
