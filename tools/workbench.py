"""What a tool works with: the Workbench (what stays fixed in a thread: the problem, the evaluator, the
budget's numbers, where candidates are recorded), the thread's candidate state it reads and updates,
and the Reply it gives. The graph's KernelState extends CandidateState."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from tools.feedback import status_text
from tools.harness.evaluator import Evaluator
from tools.harness.protocol import Upto
from tools.harness.results import Best, EvalResult, Status, improves

__all__ = ["Best", "CandidateState", "Reply", "Workbench", "evaluate"]
from tools.problem import Problem


class CandidateState(BaseModel):
    """The part of a thread's state the tools read and update."""

    candidate: str | None = Field(None, description="the current ModelNew source")
    candidate_hash: str | None = None
    candidate_final: bool = Field(True, description="its evaluation is complete (failed, or profiled)")
    evaluated: list[str] = Field(
        default_factory=list, description="hashes of distinct sources evaluated: the attempts used"
    )
    best: Best | None = Field(None, description="the thread's best candidate so far")


@dataclass
class Workbench:
    problem: Problem
    evaluator: Evaluator
    max_attempts: int
    target: float
    rules: str = ""
    # Called with (source, result) for every evaluation; returns the candidate's number n.
    record: Callable[[str, EvalResult], int] = field(default=lambda source, result: 0)


@dataclass
class Reply:
    """The text the model reads, the state updates the call causes, and data kept in the trace."""

    text: str
    updates: dict[str, Any] = field(default_factory=dict)
    artifact: dict | None = None


def evaluate(wb: Workbench, state: CandidateState, upto: Upto) -> Reply:
    """The current candidate through the harness up to `upto`; a distinct source that gets past the
    source rules uses one attempt."""
    source, h = state.candidate, state.candidate_hash
    if not source:
        return Reply("ERROR: no candidate yet: call write_kernel(source) first.")
    evaluated = list(state.evaluated)
    if h not in evaluated and len(evaluated) >= wb.max_attempts:
        return Reply(
            f"ERROR: the attempt budget ({wb.max_attempts}) is spent; no new source can be evaluated.",
            {"candidate_final": True},
        )
    result = wb.evaluator.evaluate(wb.problem, source, upto)
    n = wb.record(source, result)
    if h not in evaluated and result.status != Status.static_error:  # rejected unbuilt: no attempt used
        evaluated.append(h)
    updates: dict[str, Any] = {
        "evaluated": evaluated,
        "candidate_final": result.status != Status.ok or upto == "profile",
    }
    if improves(result, state.best):
        updates["best"] = Best(n=n, speedup=result.speedup, source_hash=h)
    text = status_text(result, upto) + f"\n[candidate {n}; attempts used {len(evaluated)} of {wb.max_attempts}]"
    return Reply(text, updates, result.model_dump(mode="json"))
