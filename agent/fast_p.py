"""fast_p, KernelBench's headline figure: the share of problems whose kernel is correct and faster than p
times the reference; and the geometric mean speedup of the correct ones."""

from __future__ import annotations

import math

FAST_P = (0.0, 0.5, 0.8, 1.0, 1.5, 2.0)


def fast_share(problems: list[dict], p: float, status: str = "status", speedup: str = "best_speedup") -> float:
    """The share of `problems` (dicts with a `status` and a `speedup` field) correct and faster than p;
    at p = 0, the share correct (a correct kernel that was never timed counts)."""

    def fast(r: dict) -> bool:
        correct = r[status] in ("success", "partial")
        return correct and (p == 0.0 or (r[speedup] or 0.0) > p)

    return sum(fast(r) for r in problems) / (len(problems) or 1)


def speed_figures(
    problems: list[dict], status: str = "status", speedup: str = "best_speedup"
) -> tuple[dict[str, float], float | None]:
    """The fast_p table at FAST_P and the geometric mean speedup of the correct problems."""
    fast_p = {f"fast_{p:g}": fast_share(problems, p, status, speedup) for p in FAST_P}
    speedups = [r[speedup] for r in problems if r[speedup]]
    geomean = math.exp(sum(math.log(x) for x in speedups) / len(speedups)) if speedups else None
    return fast_p, geomean
