"""A scripted chat model for graph tests: the one fake this project allows, standing in for the LLM."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

Script = list[AIMessage] | Callable[[list[BaseMessage]], AIMessage | str]


class ScriptedChatModel(BaseChatModel):
    """Answers each call with the next scripted AIMessage, or with `script(messages)`.

    It has no `_stream`, so it also works under LangGraph's stream_mode="messages".
    """

    script: Any
    bound_tools: list[str] = []
    calls: list[list[BaseMessage]] = []

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _index: int = PrivateAttr(default=0)

    def __init__(self, script: Script, **kwargs: Any):
        super().__init__(script=script, **kwargs)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        self.bound_tools = [convert_to_openai_tool(tool)["function"]["name"] for tool in tools]
        return self

    def _next_reply(self, messages: list[BaseMessage]) -> AIMessage:
        with self._lock:
            self.calls.append(list(messages))
            if callable(self.script):
                reply = self.script(list(messages))
            else:
                if self._index >= len(self.script):
                    raise RuntimeError(f"ScriptedChatModel ran out of replies after {len(self.script)} calls")
                reply = self.script[self._index]
                self._index += 1
        if isinstance(reply, str):
            reply = AIMessage(content=reply)
        # A copy, so a message reused in a script never shares state between calls.
        return reply.model_copy(deep=True)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next_reply(messages))])
