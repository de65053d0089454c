"""The simulated engineer of tests/benchmarks/search_quality.py: it must improve when the loop shows it a
better base kernel or a bottleneck line, and repeat itself when not, or the benchmark measures nothing."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from tests.benchmarks.search_engineer import GRADES, library, policy, propose

TASK = "Problem: **19_Big_ReLU** (KernelBench level 1), sample 0.\n"


def _write(grade: str, i: int) -> list:
    src = f"# revision {i}\n" + library("19_Big_ReLU")[grade]
    call = {"name": "write_kernel", "args": {"source": src}, "id": f"w{i}", "type": "tool_call"}
    return [AIMessage("", tool_calls=[call]), ToolMessage("STORED: ...", tool_call_id=f"w{i}", name="write_kernel")]


def _profiled(text: str, i: int) -> list:
    call = {"name": "profile_kernel", "args": {}, "id": f"p{i}", "type": "tool_call"}
    return [AIMessage("", tool_calls=[call]), ToolMessage(text, tool_call_id=f"p{i}", name="profile_kernel")]


def test_every_problem_of_the_library_has_four_grades():
    from tests.benchmarks.search_engineer import LIBRARY

    names = sorted(d.name for d in LIBRARY.iterdir() if d.is_dir())
    assert len(names) >= 6
    for name in names:
        assert set(library(name)) == set(GRADES)


def test_from_nothing_it_climbs_only_when_shown_the_bottleneck():
    msgs = [SystemMessage("s"), HumanMessage(TASK)]
    assert propose(msgs)[:2] == ("write", "wrong")
    msgs += _write("wrong", 1) + _profiled("INCORRECT: trial 1", 1)
    assert propose(msgs)[:2] == ("write", "slow")
    msgs += _write("slow", 2) + _profiled("SPEEDUP 0.200x over the reference", 2)
    assert propose(msgs)[:2] == ("write", "slow")  # no bottleneck line: it repeats itself
    msgs += _write("slow", 3) + _profiled("SPEEDUP 0.201x\nbottleneck: latency-bound: ...", 3)
    assert propose(msgs)[:2] == ("write", "medium")
    msgs += _write("medium", 4) + _profiled("SPEEDUP 0.9x\nbottleneck: memory-bound at 60% ...", 4)
    assert propose(msgs)[:2] == ("write", "fast")
    msgs += _write("fast", 5) + _profiled("SPEEDUP 1.3x", 5)
    assert propose(msgs)[0] == "finish"


def test_a_seeded_start_begins_one_grade_above_the_best_seed():
    seed = library("19_Big_ReLU")["medium"].rstrip()
    task = TASK + f"\nOther samples ...\n### candidate 3 of sample 0: 0.900x\n```python\n{seed}\n```\n"
    msgs = [SystemMessage("s"), HumanMessage(task)]
    assert propose(msgs)[:2] == ("write", "fast")


def test_each_write_is_a_new_source_with_a_note():
    msgs = [
        SystemMessage("s"),
        HumanMessage(TASK),
        AIMessage("", tool_calls=[]),
        ToolMessage("x", tool_call_id="r", name="read_reference"),
    ]
    ai = policy(msgs)
    (call,) = ai.tool_calls
    assert call["name"] == "write_kernel" and call["args"]["source"].startswith("# revision ")
    assert call["args"]["note"].startswith("wrong: ") and ai.usage_metadata["total_tokens"] > 0


def test_handed_the_fastest_kernel_it_finishes_at_once():
    seed = library("19_Big_ReLU")["fast"].rstrip()
    task = TASK + f"\nOther samples ...\n### candidate 2 of sample 0: 1.300x\n```python\n{seed}\n```\n"
    assert propose([SystemMessage("s"), HumanMessage(task)])[0] == "finish"
