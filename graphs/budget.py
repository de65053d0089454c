"""The limits a thread runs under, and the judge's verdict on them."""
from __future__ import annotations

import time

from pydantic import BaseModel


class Budget(BaseModel):
    target: float = 1.0
    max_attempts: int = 3
    max_turns: int = 40
    max_tokens: int = 2_000_000
    max_seconds: float = 3 * 3600.0

    def verdict(self, state: dict, model_done: bool) -> str | None:
        best = state.get("best")
        if best and best.get("speedup", 0.0) >= self.target:
            return "target_reached"
        if len(state.get("evaluated", [])) >= self.max_attempts and state.get("candidate_final", True):
            return "attempts_spent"
        if model_done:
            return "model_done"
        if state.get("turns", 0) >= self.max_turns:
            return "turn_limit"
        if state.get("tokens", 0) >= self.max_tokens:
            return "token_limit"
        if time.time() - state.get("started_at", time.time()) >= self.max_seconds:
            return "time_limit"
        return None
