"""What a tool works with: the Workbench (what stays fixed in a thread: the problem, the evaluator, the
budget's numbers, where candidates are recorded), the thread's candidate state it reads and updates,
and the Reply it gives. The graph's KernelState extends CandidateState."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tools.feedback import status_text
from tools.harness.evaluator import Evaluator
from tools.harness.protocol import Upto
from tools.harness.results import Best, EvalResult, Status, improves

__all__ = ["Attempt", "Best", "CandidateState", "Reply", "Workbench", "attempt_table", "evaluate"]
from tools.problem import Problem

NOTE_CHARS = 200


class Attempt(BaseModel):
    """One line of the thread's attempt table."""

    n: int
    note: str = ""
    verdict: str
    speedup: float | None = None
    sol_pct: float | None = None
    bottleneck: str | None = None


class CandidateState(BaseModel):
    """The part of a thread's state the tools read and update."""

    candidate: str | None = Field(None, description="the current ModelNew source")
    candidate_note: str = Field("", description="what the model said the current source changes, and why")
    candidate_hash: str | None = None
    candidate_final: bool = Field(True, description="its evaluation is complete (failed, or profiled)")
    evaluated: list[str] = Field(
        default_factory=list, description="hashes of distinct sources evaluated: the attempts used"
    )
    best: Best | None = Field(None, description="the thread's best candidate so far")
    history: list[Attempt] = Field(default_factory=list, description="every candidate checked or profiled")
    finished: str | None = Field(None, description="the model's reason, when it called finish")
    built: int | None = Field(None, description="the number of the last candidate that built")


@dataclass
class Workbench:
    problem: Problem
    evaluator: Evaluator
    max_attempts: int
    target: float
    rules: str = ""
    # Read the vendor profiler's counters for every new best (where the platform has them).
    counters_for_best: bool = True
    # Called with (source, result, note) for every evaluation; returns the candidate's number n.
    record: Callable[[str, EvalResult, str], int] = field(default=lambda source, result, note: 0)
    # The header folders read_library may show, by name.
    library_roots: dict[str, Path] = field(default_factory=dict)

    @property
    def compile_only(self) -> bool:
        """Nothing runs here (no device): a kernel that builds is as far as a thread can get."""
        return self.evaluator.compile_only


@dataclass
class Reply:
    """The text the model reads, the state updates the call causes, and data kept in the trace."""

    text: str
    updates: dict[str, Any] = field(default_factory=dict)
    artifact: dict | None = None


def evaluate(wb: Workbench, state: CandidateState, upto: Upto, counters: bool = False) -> Reply:
    """The current candidate through the harness up to `upto`. An attempt is a distinct source that
    built and reached check or profile: a build failure, a build alone, or a check or profile that
    could not run (compile-only) uses none. The vendor
    profiler's counters are read once, when asked (`counters`) or for a new best where the platform
    has them, and go last in the text."""
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
    n = wb.record(source, result, state.candidate_note)
    ran = upto != "build" and result.status != Status.not_run
    if h not in evaluated and ran and result.compiled:
        evaluated.append(h)
    updates: dict[str, Any] = {
        "evaluated": evaluated,
        "candidate_final": result.status != Status.ok or upto == "profile",
    }
    if result.compiled:
        updates["built"] = n
    best = state.best
    text = status_text(result, upto)
    artifact = result.model_dump(mode="json")
    if improves(result, state.best):
        p = result.profile
        best = updates["best"] = Best(
            n=n, speedup=result.speedup, source_hash=h, sol_pct=p.sol_pct if p else None, bound=p.bound if p else None
        )
    auto = best is not state.best and upto == "profile" and wb.counters_for_best and wb.evaluator.platform.has_counters
    counter_text = ""
    if (counters and result.status == Status.ok) or auto:
        counter_text, data = wb.evaluator.counters(wb.problem, source, result)
        counter_text = ("\n\nA new best, so its hardware counters: " if auto else "\n\n") + counter_text
        artifact["counters"] = data
        if best is not state.best:
            best.bottleneck = (data.get("bottleneck") or {}).get("sentence")
    if ran:
        bottleneck = best.bottleneck if best is not None and best.n == n else None
        history = [a for a in state.history if a.n != n] + [_attempt(n, state.candidate_note, result, bottleneck)]
        updates["history"] = sorted(history, key=lambda a: a.n)
        text += "\n" + attempt_table(updates["history"], best)
    text += f"\n[candidate {n}; attempts used {len(evaluated)} of {wb.max_attempts}]" + counter_text
    return Reply(text, updates, artifact)


def _attempt(n: int, note: str, r: EvalResult, bottleneck: str | None) -> Attempt:
    verdict = ("correct, fragile" if r.fragile else "correct") if r.correct else r.status.value
    sol = r.profile.sol_pct if r.profile else None
    short = bottleneck.split(";")[0] if bottleneck else None
    return Attempt(n=n, note=note, verdict=verdict, speedup=r.speedup, sol_pct=sol, bottleneck=short)


def attempt_table(history: list[Attempt], best: Best | None) -> str:
    """The thread's attempts so far, one short line each, and its best: what has been tried, so the
    next version builds on it instead of repeating it."""
    fmt = lambda x, f: f.format(x) if x is not None else "-"  # noqa: E731
    lines = ["attempts so far (n | verdict | speedup | % of SOL | note | bottleneck):"]
    for a in history[-8:]:
        lines.append(
            f"{a.n} | {a.verdict} | {fmt(a.speedup, '{:.3f}x')} | {fmt(a.sol_pct, '{:.0f}%')} | {a.note or '-'}"
            + (f" | {a.bottleneck}" if a.bottleneck else "")
        )
    if best is not None and best.speedup is not None:
        lines.append(f"best so far: candidate {best.n}, {best.speedup:.3f}x")
    return "\n".join(lines)
