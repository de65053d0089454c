"""What a thread remembers between steps; checkpointed after each one."""
from __future__ import annotations

from typing import Annotated, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


class KernelState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    problem: str
    sample: int
    candidate: str | None          # the current ModelNew source
    candidate_hash: str | None
    candidate_final: bool          # its evaluation is complete (failed, or profiled)
    evaluated: list[str]           # hashes of distinct sources evaluated: the attempts used
    best: dict | None              # {"n", "speedup", "hash"} of the fastest correct candidate
    turns: int
    tokens: int
    started_at: float
    ended: str | None              # why the thread stopped
