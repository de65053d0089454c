"""The limits a thread runs under, the goal it optimises toward, and the judge's verdict on them."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Replies without a tool call in a row, below the goal with attempts left, before a thread gives up:
# the first is answered (graphs.kernel_graph's pushback), the second ends it.
PLAIN_REPLIES = 2


class Budget(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    target: float = Field(1.0, gt=0, description="speedup that counts as a success")
    until: str | None = Field(
        None,
        description="keep optimising until the best reaches this speedup (2.0) or this fraction of the "
        "speed-of-light floor (sol:0.9); default: the target",
    )
    max_attempts: int = Field(
        3,
        ge=1,
        validation_alias="MAX_ATTEMPTS",
        description="distinct kernels that reach check or profile per thread (a build failure costs none)",
    )
    max_turns: int = Field(40, ge=1, description="LLM turns per thread")
    max_tokens: int = Field(2_000_000, ge=1, description="tokens per thread")
    max_seconds: float = Field(3 * 3600.0, gt=0, description="wall time per thread")

    @field_validator("until")
    @classmethod
    def _until_form(cls, v: str | None) -> str | None:
        if v is None or not str(v).strip():
            return None
        v = str(v).strip().lower()
        try:
            value = float(v.removeprefix("sol:"))
        except ValueError:
            value = -1.0
        if value <= 0 or (v.startswith("sol:") and value > 1):
            raise ValueError(
                f"--until takes a speedup such as 2.0, or a fraction of the speed-of-light floor such as sol:0.9 "
                f"(got '{v}')"
            )
        return v

    def goal_text(self) -> str:
        if self.until and self.until.startswith("sol:"):
            return f"{100 * float(self.until[4:]):.0f}% of the speed-of-light floor"
        return f"{float(self.until) if self.until else self.target:g}x"

    def goal_reached(self, best) -> bool:
        """Whether the thread's best is good enough to stop: --until where given, else the target."""
        if best is None or not best.correct or best.speedup is None:
            return False
        if self.until and self.until.startswith("sol:"):
            return (best.sol_pct or 0.0) >= 100 * float(self.until[4:])
        return best.speedup >= (float(self.until) if self.until else self.target)

    def attempts_left(self, state) -> int:
        return max(0, self.max_attempts - len(state.evaluated))

    def verdict(self, state, model_done: bool, compile_only: bool = False) -> str | None:
        """Why the thread ends now, or None. `state` is the thread's KernelState; `model_done`: the
        model's last reply called no tool (its plain_replies already counts it). `compile_only`: nothing
        can run here, so a thread with a kernel that built ends as `built` when the model stops (by
        finish, or by a reply without a tool call)."""
        if self.goal_reached(state.best):
            return "target_reached"
        if len(state.evaluated) >= self.max_attempts and state.candidate_final:
            return "attempts_spent"
        if compile_only and state.built is not None and (state.finished or model_done):
            return "built"
        if state.finished:
            return "gave_up"
        if model_done and state.plain_replies >= PLAIN_REPLIES:
            return "gave_up"
        if state.turns >= self.max_turns:
            return "turn_limit"
        if state.tokens >= self.max_tokens:
            return "token_limit"
        if time.time() - state.started_at >= self.max_seconds:
            return "time_limit"
        return None
