"""The tool that checks the current candidate against the reference."""

from __future__ import annotations

from tools.registry import CandidateState, NoArgs, Reply, Workbench, tool
from tools.workbench import evaluate


@tool(position=4, summary="run the candidate against the reference on fresh random inputs.")
def check_correctness(wb: Workbench, state: CandidateState, args: NoArgs) -> Reply:
    """Build the current candidate if needed, then run it against the reference on several fresh random
    input sets. Returns pass or fail first, then per trial: shape and dtype match, NaN/Inf, max absolute
    and relative error and where it occurred, and whether the inputs were left unmodified. Takes no
    arguments."""
    return evaluate(wb, state, "check")
