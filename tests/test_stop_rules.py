"""Issue 13's stop rules and attempt history through the real graph, harness and g++ with the scripted
model: a plain reply is answered, twice in a row it gives up; `finish` ends the thread with its reason;
a build failure costs no attempt; --until keeps a thread past the target; write_kernel's note labels
the candidate in the attempt table every check and profile result ends with."""

from __future__ import annotations

import time

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from graphs.budget import Budget
from graphs.kernel_graph import ThreadContext, build_graph
from tests.conftest import KERNELS, problem
from tests.scripted_model import ScriptedChatModel
from tools.registry import Workbench

RELU = "KernelBench/level1/1_Small_ReLU.py"
GOOD = (KERNELS / "cpu/good/relu.py").read_text()
BROKEN = (KERNELS / "cpu/bad/relu_build_error.py").read_text()


def call(name, i, **args):
    return {"name": name, "args": args, "id": f"c{i}", "type": "tool_call"}


def tools(*calls):
    return AIMessage("", tool_calls=list(calls))


def run(script, evaluator, budget: Budget, notes: list | None = None):
    llm = ScriptedChatModel(script)
    recorded = notes if notes is not None else []
    wb = Workbench(
        problem=problem(RELU),
        evaluator=evaluator,
        max_attempts=budget.max_attempts,
        target=budget.target,
        rules="RULES",
        record=lambda source, result, note: recorded.append(note) or len(recorded),
    )
    state = {"messages": [SystemMessage("s"), HumanMessage("h")], "started_at": time.time()}
    cfg = {"configurable": {"thread_id": "t"}, "recursion_limit": 100}
    return build_graph(InMemorySaver()).invoke(state, cfg, context=ThreadContext(llm=llm, workbench=wb, budget=budget))


def humans(out) -> list[str]:
    return [m.content for m in out["messages"] if isinstance(m, HumanMessage)][1:]


def tool_texts(out) -> list[str]:
    return [m.content for m in out["messages"] if isinstance(m, ToolMessage)]


def test_a_plain_reply_is_answered_and_a_second_in_a_row_gives_up(cpu_evaluator):
    out = run([AIMessage("Here is my plan: ..."), AIMessage("Done.")], cpu_evaluator, Budget(max_attempts=3))
    (pushback,) = humans(out)
    assert "You replied without calling a tool" in pushback
    assert "3 attempt(s) left, the goal is 1x, and the best so far is none correct and timed yet" in pushback
    assert "call finish with your reason" in pushback
    assert out["ended"] == "gave_up" and not out.get("evaluated")


def test_a_tool_call_between_plain_replies_starts_the_count_again(cpu_evaluator):
    out = run(
        [AIMessage("thinking"), tools(call("read_reference", 1)), AIMessage("still thinking"), AIMessage("Done.")],
        cpu_evaluator,
        Budget(),
    )
    assert len(humans(out)) == 2 and out["ended"] == "gave_up"


def test_finish_ends_the_thread_with_its_reason_and_needs_one(cpu_evaluator):
    out = run(
        [tools(call("finish", 1)), tools(call("finish", 2, reason="  every idea left is slower  "))],
        cpu_evaluator,
        Budget(),
    )
    texts = tool_texts(out)
    assert texts[0] == "ERROR: finish needs a 'reason': say in one sentence why you stop."
    assert texts[1] == "FINISHED: every idea left is slower"
    assert out["ended"] == "gave_up" and out["finished"] == "every idea left is slower"


def test_a_build_failure_costs_no_attempt(cpu_evaluator):
    out = run(
        [
            tools(call("write_kernel", 1, source=BROKEN), call("check_correctness", 2)),
            tools(call("write_kernel", 3, source=BROKEN + "\n# again\n"), call("profile_kernel", 4)),
            tools(call("finish", 5, reason="cannot build")),
        ],
        cpu_evaluator,
        Budget(max_attempts=1),
    )
    texts = tool_texts(out)
    assert texts[1].startswith("BUILD FAILED") and "attempts used 0 of 1" in texts[1]
    assert texts[3].startswith("BUILD FAILED") and "attempts used 0 of 1" in texts[3]
    assert not out.get("evaluated") and out["ended"] == "gave_up"


def test_until_keeps_optimising_past_the_target_and_the_table_carries_the_notes(cpu_evaluator):
    notes: list[str] = []
    long_note = "vectorised loop " + "x" * 300
    out = run(
        [
            tools(call("write_kernel", 1, source=GOOD, note="plain loop, first try"), call("profile_kernel", 2)),
            AIMessage("That is fast enough."),
            tools(call("write_kernel", 3, source=GOOD + "\n# v2\n", note=long_note), call("check_correctness", 4)),
            tools(call("finish", 5, reason="no better idea")),
        ],
        cpu_evaluator,
        Budget(target=0.01, until="1000", max_attempts=5),
        notes,
    )
    texts = tool_texts(out)
    assert texts[1].startswith("SPEEDUP")  # over the 0.01x target, below --until 1000
    assert "attempts so far (n | verdict | speedup | % of SOL | note | bottleneck):" in texts[1]
    assert "| correct | " in texts[1] and "| plain loop, first try" in texts[1]
    (pushback,) = humans(out)
    assert "the goal is 1000x" in pushback and "the best so far is candidate 1 at" in pushback
    assert "note: your note was cut to 200 characters." in texts[2]
    assert notes[0] == "plain loop, first try" and len(notes[-1]) == 200
    table = texts[3].split("attempts so far", 1)[1]
    assert table.count("\n2 | correct") == 1 and "best so far: candidate 1" in table
    print(f"FIGURE attempt table, 2 attempts: {len('attempts so far' + table)} characters")
    assert out["ended"] == "gave_up" and len(out["evaluated"]) == 2


def test_without_until_the_target_ends_the_thread(cpu_evaluator):
    out = run(
        [tools(call("write_kernel", 1, source=GOOD, note="first"), call("profile_kernel", 2))],
        cpu_evaluator,
        Budget(target=0.01),
    )
    assert out["ended"] == "target_reached"


def test_the_attempt_table_and_best_come_back_from_a_sqlite_checkpoint(cpu_evaluator, caplog):
    import sqlite3

    from graphs.state import checkpointer
    from tools.workbench import Attempt

    llm = ScriptedChatModel([tools(call("write_kernel", 1, source=GOOD, note="n1"), call("check_correctness", 2))])
    wb = Workbench(problem=problem(RELU), evaluator=cpu_evaluator, max_attempts=3, target=1.0, rules="RULES")
    graph = build_graph(checkpointer(sqlite3.connect(":memory:", check_same_thread=False)))
    cfg = {"configurable": {"thread_id": "cp"}, "recursion_limit": 20}
    state = {"messages": [SystemMessage("s"), HumanMessage("h")], "started_at": time.time()}
    graph.invoke(state, cfg, context=ThreadContext(llm=llm, workbench=wb, budget=Budget(max_turns=1)))
    values = graph.get_state(cfg).values
    assert isinstance(values["history"][0], Attempt) and values["history"][0].note == "n1"
    assert "Blocked deserialization" not in caplog.text
