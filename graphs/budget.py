"""The limits a thread runs under, and the judge's verdict on them."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field


class Budget(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    target: float = Field(1.0, gt=0, description="speedup that ends a thread as a success")
    max_attempts: int = Field(
        3, ge=1, validation_alias="MAX_ATTEMPTS", description="distinct kernels evaluated per thread"
    )
    max_turns: int = Field(40, ge=1, description="LLM turns per thread")
    max_tokens: int = Field(2_000_000, ge=1, description="tokens per thread")
    max_seconds: float = Field(3 * 3600.0, gt=0, description="wall time per thread")

    def verdict(self, state, model_done: bool) -> str | None:
        """Why the thread ends now, or None. `state` is the thread's KernelState."""
        if state.best is not None and (state.best.speedup or 0.0) >= self.target:
            return "target_reached"
        if len(state.evaluated) >= self.max_attempts and state.candidate_final:
            return "attempts_spent"
        if model_done:
            return "model_done"
        if state.turns >= self.max_turns:
            return "turn_limit"
        if state.tokens >= self.max_tokens:
            return "token_limit"
        if time.time() - state.started_at >= self.max_seconds:
            return "time_limit"
        return None
