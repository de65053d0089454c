"""What a thread remembers between steps; checkpointed after each one."""

from __future__ import annotations

import sqlite3
import time
from typing import Annotated

from langchain_core.messages import AnyMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.message import add_messages
from pydantic import Field

from tools.registry import Attempt, Best, CandidateState


class KernelState(CandidateState):
    """The tools' candidate state (candidate, attempts used, best) and the thread around it."""

    messages: Annotated[list[AnyMessage], add_messages] = Field(default_factory=list)
    problem: str = ""
    sample: int = 0
    turns: int = 0
    tokens: int = 0
    started_at: float = Field(default_factory=time.time)
    ended: str | None = Field(None, description="why the thread stopped")
    plain_replies: int = Field(0, description="replies in a row that called no tool")


def checkpointer(conn: sqlite3.Connection) -> SqliteSaver:
    """A SQLite checkpointer that reads back the state's own models without a warning."""
    allowed = [(m.__module__, m.__name__) for m in (Best, Attempt)]
    return SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=allowed))
