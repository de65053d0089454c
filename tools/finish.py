"""The tool that ends the thread on the model's word."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.registry import CandidateState, Reply, Workbench, tool


class FinishArgs(BaseModel):
    reason: str = Field(
        "",
        description="Why you stop, in a sentence: for example, the kernel is at the speed-of-light floor, or "
        "every idea you have left is slower. Kept in the trace and the reports.",
    )


@tool(
    position=6,
    args=FinishArgs,
    summary="end this thread with your reason, when you cannot improve the kernel further\n"
    "   (below the goal, a reply without a tool call is answered, not taken as the end).",
)
def finish(wb: Workbench, state: CandidateState, args: FinishArgs) -> Reply:
    """End this thread, with the reason. Use it only when you cannot improve the kernel further: while
    attempts are left and the best is below the goal, a reply without a tool call is answered with
    what is left, not taken as the end."""
    reason = " ".join(args.reason.split())
    if not reason:
        return Reply("ERROR: finish needs a 'reason': say in one sentence why you stop.")
    return Reply(f"FINISHED: {reason[:500]}", {"finished": reason[:500]})
