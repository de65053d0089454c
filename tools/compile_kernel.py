"""The tool that builds the current candidate."""

from __future__ import annotations

from tools.registry import CandidateState, NoArgs, Reply, Workbench, tool
from tools.workbench import evaluate


@tool(position=3, summary="build the current candidate and get compiler errors with line numbers.")
def compile_kernel(wb: Workbench, state: CandidateState, args: NoArgs) -> Reply:
    """Build the current candidate (import it, which runs load_inline). Returns success and build time, or
    the first compiler errors with line numbers in your kernel source. Takes no arguments; call
    write_kernel first."""
    return evaluate(wb, state, "build")
