"""The tool that stores a candidate."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.harness.build_notes import build_notes
from tools.harness.static_check import check_source
from tools.registry import CandidateState, Reply, Workbench, tool
from tools.workbench import NOTE_CHARS


class WriteKernelArgs(BaseModel):
    source: str = Field(
        min_length=1,
        json_schema_extra={"code": "python"},
        description=(
            "The whole Python file: imports, the kernel source in strings, the load_inline call that builds it, "
            "and class ModelNew with the same __init__ and forward signatures as Model. Not a diff or a fragment; "
            "no Markdown fences."
        ),
    )
    note: str = Field(
        "",
        description="One line: what this version changes from the last and why (for example 'float4 loads: "
        "memory-bound at 60% of peak'). It labels the candidate in the attempt table.",
    )


@tool(
    position=2,
    args=WriteKernelArgs,
    summary="store the full `ModelNew` file as your current candidate; a "
    "static check runs\n   at once and names any rule it breaks.",
)
def write_kernel(wb: Workbench, state: CandidateState, args: WriteKernelArgs) -> Reply:
    """Store a complete ModelNew Python file as the current candidate and run the static rule check on it
    at once. Returns whether the source was accepted, and if not the line and rule it breaks. Does not
    compile. Each distinct source you go on to compile, check or profile counts as one attempt."""
    if not args.source.strip():
        return Reply("ERROR: write_kernel needs a 'source' argument holding the whole ModelNew file.")
    source = _strip_fences(args.source)
    platform = wb.evaluator.platform.name
    violations = check_source(source, platform, wb.problem.banned_ops)
    h = wb.evaluator.source_hash(source)
    note = " ".join(args.note.split())[:NOTE_CHARS]
    updates = {"candidate": source, "candidate_hash": h, "candidate_final": False, "candidate_note": note}
    if violations:
        text = "REJECTED by the source rules (fix and call write_kernel again):\n" + "\n".join(
            f"- {v}" for v in violations
        )
        return Reply(text, updates | {"candidate_final": True}, {"violations": [v.model_dump() for v in violations]})
    again = "" if h not in state.evaluated else " (this exact source was already evaluated)"
    text = (
        f"STORED: {len(source.splitlines())} lines, source rules passed{again}. Attempts used "
        f"{len(state.evaluated)} of {wb.max_attempts}; checking or profiling it uses one (a build that "
        f"fails does not)."
    )
    if len(" ".join(args.note.split())) > NOTE_CHARS:
        text += f"\nnote: your note was cut to {NOTE_CHARS} characters."
    text += "".join(f"\nnote: {n}" for n in build_notes(source, platform))
    return Reply(text, updates)


def _strip_fences(source: str) -> str:
    s = source.strip()
    if s.startswith("```"):
        s = s.split("\n", 1)[1] if "\n" in s else ""
        if s.rstrip().endswith("```"):
            s = s.rstrip()[:-3]
    return s.strip("\n") + "\n"
