"""A simulated kernel engineer for tests/benchmarks/search_quality.py, in place of an LLM: for each problem
it holds a library of real kernels of four grades (tests/benchmarks/search_library/<problem>/wrong.py,
slow.py, medium.py, fast.py), and what it proposes next depends only on what the loop showed it:

- it starts from the best kernel it was given (a seeded sample's starting kernels) or, given nothing,
  from the bottom of the library (wrong, then slow);
- a result that names the bottleneck (the counters' "bottleneck:" line) after its best so far lets it
  write the next grade up;
- a result without one leaves it where it is: it rewrites its current grade with a cosmetic change,
  which costs an attempt and gains nothing;
- once it has timed the fast kernel, or is handed it, it calls finish.

Every write is a distinct source (a `# revision N` line), so each one is a real attempt through the
real harness. Token counts are estimated from the text (4 characters a token)."""

from __future__ import annotations

import re
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from tests.scripted_model import ScriptedChatModel

LIBRARY = Path(__file__).resolve().parent / "search_library"
GRADES = ("wrong", "slow", "medium", "fast")
_PROBLEM = re.compile(r"Problem: \*\*(\S+?)\*\*")
_REVISION = re.compile(r"^# revision \d+\n", re.MULTILINE)


def problem_of(messages) -> str:
    task = next((m.content for m in messages if isinstance(m, HumanMessage)), "")
    m = _PROBLEM.search(task)
    if m is None:
        raise RuntimeError(f"no problem name in the task: {task[:80]}")
    return m.group(1)


def library(problem: str) -> dict[str, str]:
    folder = LIBRARY / problem
    if not folder.is_dir():
        raise RuntimeError(f"search_library has no kernels for {problem}")
    return {g: (folder / f"{g}.py").read_text() for g in GRADES}


def grade_of(source: str, lib: dict[str, str]) -> str | None:
    plain = _REVISION.sub("", source).strip()
    return next((g for g, s in lib.items() if s.strip() == plain), None)


def _seeded_grade(messages, lib: dict[str, str]) -> int:
    """The best grade among the kernels a seeded task message hands over (-1: none)."""
    task = next((m.content for m in messages if isinstance(m, HumanMessage)), "")
    best = -1
    for block in re.findall(r"```python\n(.*?)\n```", task, flags=re.DOTALL):
        g = grade_of(block, lib)
        if g is not None:
            best = max(best, GRADES.index(g))
    return best


def _history(messages, lib: dict[str, str]) -> tuple[int, bool, list[str]]:
    """(best correct grade so far, whether the last result named a bottleneck, grades written)."""
    written, best, shown = [], -1, False
    for m in messages:
        if isinstance(m, AIMessage):
            for c in m.tool_calls:
                if c["name"] == "write_kernel":
                    written.append(grade_of(c["args"].get("source", ""), lib) or "?")
        if isinstance(m, ToolMessage) and m.name in ("check_correctness", "profile_kernel"):
            text = str(m.content)
            correct = text.startswith(("SPEEDUP", "CORRECT"))
            if correct and written and written[-1] in GRADES:
                best = max(best, GRADES.index(written[-1]))
            shown = "bottleneck:" in text
    return best, shown, written


def propose(messages) -> tuple[str, str, str]:
    """(action, grade, why): action is "write" or "finish"."""
    lib = library(problem_of(messages))
    seeded = _seeded_grade(messages, lib)
    best, shown, written = _history(messages, lib)
    level = max(best, seeded)
    if level == len(GRADES) - 1:
        return "finish", "fast", "the fastest kernel I know is timed"
    if not written and seeded < 0:
        return "write", "wrong", "a first attempt"
    if level < 0:
        return "write", "slow", "the first one was wrong; a plain correct version"
    if shown or (not written and seeded >= 0):
        return "write", GRADES[level + 1], "the bottleneck (or the seed) shows what to change"
    return "write", GRADES[level], "no idea what limits it: the same approach, reworded"


def policy(messages) -> AIMessage:
    step = sum(isinstance(m, AIMessage) for m in messages)
    last = messages[-1]
    if step == 0:
        return _say([_call("read_reference", step)], messages)
    if isinstance(last, ToolMessage) and last.name == "write_kernel":
        if not str(last.content).startswith("STORED"):
            return _say([_call("finish", step, reason="my kernel breaks the source rules")], messages)
        return _say([_call("profile_kernel", step)], messages)
    action, grade, why = propose(messages)
    if action == "finish":
        return _say([_call("finish", step, reason=why)], messages)
    source = f"# revision {step}\n" + library(problem_of(messages))[grade]
    return _say([_call("write_kernel", step, source=source, note=f"{grade}: {why}")], messages)


def _call(name: str, n: int, **args) -> dict:
    return {"name": name, "args": args, "id": f"{name}_{n}", "type": "tool_call"}


def _say(calls: list[dict], messages) -> AIMessage:
    seen = sum(len(str(m.content)) for m in messages) // 4
    out = sum(len(str(c["args"])) for c in calls) // 4 + 50
    return AIMessage(
        content="",
        tool_calls=calls,
        usage_metadata={"input_tokens": seen, "output_tokens": out, "total_tokens": seen + out},
    )


def factory() -> ScriptedChatModel:
    """For `agent solve --model tests.benchmarks.search_engineer:factory`."""
    return ScriptedChatModel(policy)
