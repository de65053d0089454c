"""The graph's control flow with the scripted model: tool calls run in order, bad calls are answered
with errors, and the judge ends a thread for each reason in the budget."""

import time

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from graphs.budget import Budget
from graphs.kernel_graph import ThreadContext, build_graph
from graphs.state import KernelState
from tests.conftest import problem
from tests.scripted_model import ScriptedChatModel
from tools.registry import Workbench


def call(name, i, **args):
    return {"name": name, "args": args, "id": f"c{i}", "type": "tool_call"}


def run(script, cpu_evaluator, budget=None, thread="t"):
    llm = ScriptedChatModel(script)
    wb = Workbench(
        problem=problem("KernelBench/level1/1_Small_ReLU.py"),
        evaluator=cpu_evaluator,
        max_attempts=budget.max_attempts if budget else 3,
        target=1.0,
        rules="RULES",
    )
    graph = build_graph(InMemorySaver())
    state = {
        "messages": [SystemMessage("s"), HumanMessage("h")],
        "evaluated": [],
        "turns": 0,
        "tokens": 0,
        "started_at": time.time(),
        "candidate_final": True,
    }
    cfg = {"configurable": {"thread_id": thread}, "recursion_limit": 100}
    out = graph.invoke(state, cfg, context=ThreadContext(llm=llm, workbench=wb, budget=budget or Budget()))
    return out, llm


def tool_texts(out):
    return [m.content for m in out["messages"] if isinstance(m, ToolMessage)]


def test_unknown_tool_missing_candidate_and_bad_args_are_answered(cpu_evaluator):
    out, llm = run(
        [
            AIMessage("", tool_calls=[call("run_shell", 1), call("compile_kernel", 2), call("write_kernel", 3)]),
            AIMessage("giving up"),
            AIMessage("really giving up"),
        ],
        cpu_evaluator,
    )
    texts = tool_texts(out)
    assert texts[0].startswith("ERROR: there is no tool 'run_shell'")
    assert texts[1].startswith("ERROR: no candidate yet")
    assert texts[2].startswith("ERROR: write_kernel needs a 'source'")
    assert out["ended"] == "gave_up"
    assert set(llm.bound_tools) == {
        "read_reference",
        "write_kernel",
        "compile_kernel",
        "check_correctness",
        "profile_kernel",
        "finish",
        "read_library",
    }


def test_static_rejection_costs_no_attempt(cpu_evaluator):
    src = "import torch\nclass ModelNew(torch.nn.Module):\n    def forward(self, a, b):\n        return torch.matmul(a, b)\n"
    out, _ = run(
        [
            AIMessage("", tool_calls=[call("write_kernel", 1, source=src), call("compile_kernel", 2)]),
            AIMessage("ok"),
            AIMessage("ok"),
        ],
        cpu_evaluator,
    )
    assert tool_texts(out)[0].startswith("REJECTED by the source rules")
    assert "banned-op" in tool_texts(out)[0]
    assert tool_texts(out)[1].startswith("REJECTED by the source rules")
    assert out["evaluated"] == []


def test_turn_limit_ends_a_looping_model(cpu_evaluator):
    loop = lambda msgs: AIMessage("", tool_calls=[call("compile_kernel", len(msgs))])
    out, _ = run(loop, cpu_evaluator, Budget(max_turns=3))
    assert out["ended"] == "turn_limit" and out["turns"] == 3


def test_token_limit(cpu_evaluator):
    loop = lambda msgs: AIMessage(
        "",
        tool_calls=[call("compile_kernel", len(msgs))],
        usage_metadata={"input_tokens": 600, "output_tokens": 0, "total_tokens": 600},
    )
    out, _ = run(loop, cpu_evaluator, Budget(max_tokens=1000))
    assert out["ended"] == "token_limit" and out["tokens"] == 1200


@pytest.mark.parametrize(
    "state,done,expected",
    [
        ({"best": {"n": 0, "speedup": 1.2}}, False, "target_reached"),
        ({"evaluated": ["a", "b", "c"], "candidate_final": True}, False, "attempts_spent"),
        ({"evaluated": ["a", "b", "c"], "candidate_final": False}, False, None),  # may still profile the last one
        ({"plain_replies": 1}, True, None),  # answered, not obeyed
        ({"plain_replies": 2}, True, "gave_up"),
        ({"finished": "at the floor"}, False, "gave_up"),
        ({"started_at": 0.0}, False, "time_limit"),
    ],
)
def test_budget_verdicts(state, done, expected):
    state = KernelState.model_validate({"started_at": time.time(), **state})
    assert Budget(target=1.0, max_attempts=3).verdict(state, done) == expected


@pytest.mark.parametrize(
    "state,done,compile_only,expected",
    [
        ({"built": 0, "finished": "builds, no spills"}, False, True, "built"),
        ({"built": 0, "plain_replies": 1}, True, True, "built"),  # nothing left to run: a stop is the end
        ({"finished": "cannot build it"}, False, True, "gave_up"),
        ({"plain_replies": 1}, True, True, None),  # nothing built yet: answered
        ({"built": 0}, False, True, None),  # may still improve its resources
        ({"built": 0, "finished": "at the floor"}, False, False, "gave_up"),  # a GPU run: building is no end
    ],
)
def test_compile_only_verdicts(state, done, compile_only, expected):
    state = KernelState.model_validate({"started_at": time.time(), **state})
    assert Budget(target=1.0, max_attempts=3).verdict(state, done, compile_only) == expected


@pytest.mark.parametrize(
    "until,best,expected",
    [
        (None, {"speedup": 1.2}, "target_reached"),
        ("2.0", {"speedup": 1.2}, None),  # past the target, below --until: go on
        ("2.0", {"speedup": 2.1}, "target_reached"),
        ("sol:0.9", {"speedup": 3.0, "sol_pct": 80.0}, None),
        ("sol:0.9", {"speedup": 3.0, "sol_pct": 91.0}, "target_reached"),
    ],
)
def test_until_keeps_a_thread_going_past_the_target(until, best, expected):
    state = KernelState.model_validate({"started_at": time.time(), "best": {"n": 0, **best}})
    assert Budget(target=1.0, until=until).verdict(state, False) == expected


@pytest.mark.parametrize("bad", ["fast", "sol:1.5", "-2", "sol:x", "0"])
def test_a_malformed_until_is_refused(bad):
    with pytest.raises(ValueError, match="--until takes a speedup such as 2.0"):
        Budget(until=bad)
