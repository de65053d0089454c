"""The five tools as plain functions over a Workbench (what stays fixed in a thread) and the thread's
state. Each returns the text the model reads and the state updates it causes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from tools.harness.evaluator import Evaluator, source_hash
from tools.problem import Problem
from tools.harness.results import EvalResult, Status
from tools.harness.build_notes import build_notes
from tools.harness.static_check import check_source
from tools.feedback import status_text


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
    text: str
    updates: dict[str, Any] = field(default_factory=dict)
    artifact: dict | None = None


def read_reference(wb: Workbench, state: dict) -> Reply:
    base = wb.evaluator.baseline(wb.problem)
    dev = base.get("device", {})
    ref = base["reference"]
    parts = [f"problem {wb.problem.name} (level {wb.problem.level})",
             f"platform {wb.evaluator.platform.name}: {dev.get('device_name', '')} arch {dev.get('arch', '')}",
             f"inputs (from get_inputs): {', '.join(base.get('inputs', []))}",
             f"reference time: {ref['median_ms']:.4g} ms median (eager PyTorch, cold cache)",
             f"attempts: {len(state.get('evaluated', []))} used of {wb.max_attempts}; target speedup {wb.target:g}x"]
    if base.get("floor_ms"):
        parts.append(f"speed-of-light floor: {base['floor_ms']:.4g} ms ({base['bound']}-bound: "
                     f"{base['flops']:.3g} FLOP, {base['min_bytes'] / 1e6:.4g} MB minimum traffic)")
    parts += ["", "reference source:", "```python", wb.problem.source.rstrip(), "```", "", wb.rules]
    return Reply("\n".join(parts), artifact={"baseline": base})


def write_kernel(wb: Workbench, state: dict, source: str) -> Reply:
    source = _strip_fences(source)
    violations = check_source(source, wb.evaluator.platform.name, wb.problem.banned_ops)
    h = source_hash(source, wb.evaluator.platform.name, wb.evaluator.config.arch)
    updates = {"candidate": source, "candidate_hash": h, "candidate_final": False}
    if violations:
        text = "REJECTED by the source rules (fix and call write_kernel again):\n" + "\n".join(f"- {v}" for v in violations)
        return Reply(text, updates | {"candidate_final": True}, {"violations": [v.model_dump() for v in violations]})
    used = len(state.get("evaluated", []))
    note = "" if h not in state.get("evaluated", []) else " (this exact source was already evaluated)"
    text = (f"STORED: {len(source.splitlines())} lines, source rules passed{note}. Attempts used {used} of "
            f"{wb.max_attempts}; compiling, checking or profiling it uses one.")
    text += "".join(f"\nnote: {n}" for n in build_notes(source, wb.evaluator.platform.name))
    return Reply(text, updates)


def evaluate(wb: Workbench, state: dict, upto: str) -> Reply:
    source, h = state.get("candidate"), state.get("candidate_hash")
    if not source:
        return Reply("ERROR: no candidate yet: call write_kernel(source) first.")
    evaluated = list(state.get("evaluated", []))
    if h not in evaluated and len(evaluated) >= wb.max_attempts:
        return Reply(f"ERROR: the attempt budget ({wb.max_attempts}) is spent; no new source can be evaluated.",
                     {"candidate_final": True})
    result = wb.evaluator.evaluate(wb.problem, source, upto)
    n = wb.record(source, result)
    if h not in evaluated and result.status != Status.static_error:  # rejected unbuilt: no attempt used
        evaluated.append(h)
    updates: dict[str, Any] = {"evaluated": evaluated}
    final = result.status != Status.ok or upto == "profile"
    updates["candidate_final"] = final
    best = state.get("best")
    if result.status == Status.ok and result.speedup is not None and (best is None or result.speedup > best["speedup"]):
        updates["best"] = {"n": n, "speedup": result.speedup, "hash": h}
    text = status_text(result, upto)
    text += f"\n[candidate {n}; attempts used {len(evaluated)} of {wb.max_attempts}]"
    return Reply(text, updates, result.model_dump(mode="json"))


def compile_kernel(wb: Workbench, state: dict) -> Reply:
    return evaluate(wb, state, "build")


def check_correctness(wb: Workbench, state: dict) -> Reply:
    return evaluate(wb, state, "check")


def profile_kernel(wb: Workbench, state: dict, counters: bool = False) -> Reply:
    reply = evaluate(wb, state, "profile")
    artifact = reply.artifact or {}
    if counters and artifact.get("status") == "ok":
        text, data = wb.evaluator.counters(wb.problem, state["candidate"])
        reply.text += "\n\n" + text
        reply.artifact = artifact | {"counters": data}
    return reply


TOOLS: dict[str, Callable[..., Reply]] = {
    "read_reference": read_reference,
    "write_kernel": write_kernel,
    "compile_kernel": compile_kernel,
    "check_correctness": check_correctness,
    "profile_kernel": profile_kernel,
}


def _strip_fences(source: str) -> str:
    s = source.strip()
    if s.startswith("```"):
        s = s.split("\n", 1)[1] if "\n" in s else ""
        if s.rstrip().endswith("```"):
            s = s.rstrip()[:-3]
    return s.strip("\n") + "\n"

