"""What a run has spent on the LLM: tokens and cost per problem, and the run-wide limits on both."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pydantic import BaseModel

PRICES_FILE = Path(__file__).with_name("prices.json")


class Prices(BaseModel):
    """USD per million tokens."""

    input: float
    output: float
    source: str

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1e6


def prices_for(model: str, price_input: float | None = None, price_output: float | None = None) -> Prices | None:
    """Prices given on the command line win; else the longest entry of prices.json that the model's
    name (after a provider prefix) starts with; else None: the cost is unknown, never guessed."""
    if price_input is not None or price_output is not None:
        return Prices(input=price_input or 0.0, output=price_output or 0.0, source="settings")
    name = model.split(":", 1)[1] if ":" in model else model
    name = name.rsplit("/", 1)[-1].lower()
    table = {k: v for k, v in json.loads(PRICES_FILE.read_text()).items() if not k.startswith("_")}
    matches = [k for k in table if name.startswith(k)]
    if not matches:
        return None
    key = max(matches, key=len)
    return Prices(input=table[key][0], output=table[key][1], source=f"prices.json:{key}")


class Ledger:
    """Thread-safe totals; `exhausted()` says which run-wide limit, if any, has been reached."""

    def __init__(self, prices: Prices | None, max_tokens: int | None = None, max_cost: float | None = None):
        self.prices = prices
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self._lock = threading.Lock()
        self.by_problem: dict[str, dict[str, int]] = {}

    def add(self, problem: str, usage: dict) -> None:
        with self._lock:
            row = self.by_problem.setdefault(problem, {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
            for k in row:
                row[k] += int(usage.get(k, 0) or 0)

    def totals(self) -> dict[str, int]:
        with self._lock:
            return {
                k: sum(r[k] for r in self.by_problem.values())
                for k in ("input_tokens", "output_tokens", "total_tokens")
            }

    def cost(self) -> float | None:
        if self.prices is None:
            return None
        t = self.totals()
        return self.prices.cost(t["input_tokens"], t["output_tokens"])

    def exhausted(self) -> str | None:
        used = self.totals()["total_tokens"]
        if self.max_tokens is not None and used >= self.max_tokens:
            return f"run_token_limit: the run has used {used} tokens (limit {self.max_tokens})"
        cost = self.cost()
        if self.max_cost is not None and cost is not None and cost >= self.max_cost:
            return f"run_cost_limit: the run has cost ${cost:.2f} (limit ${self.max_cost:.2f})"
        return None
