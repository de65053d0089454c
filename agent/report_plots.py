"""The figures of report.html, drawn with matplotlib and returned as inline SVG: the fast_p curve, the
speedup of each problem, and the tokens and cost of each problem. Each takes the per-problem rows of
build_reports (status, best_speedup, tokens, cost_usd, ...)."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from agent.fast_p import fast_share

STATUS_COLORS = {"success": "#2e7d32", "partial": "#e08a00", "failed": "#c62828", "built": "#1565c0"}
# A compile-only run's problems whose kernel built: nothing ran, so they are neither correct nor failed.
STATUS_LABELS = {"built": "built (not run)"}
WIDTH_IN = 9.0


def _svg(fig: Figure, salt: str) -> str:
    """The figure as an <svg> element to inline in HTML (no XML prolog or doctype). The salt keeps the
    element ids of one figure apart from another's on the same page."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        fig.savefig(
            buf,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _rows_height(n: int) -> float:
    return max(2.6, 0.32 * n + 1.4)


def fast_p_svg(problems: list[dict], target: float) -> str:
    """fast_p over p from 0 to past the largest speedup: the share of problems correct and faster than p."""
    speedups = [r["best_speedup"] for r in problems if r.get("best_speedup")]
    p_max = max([2.0, target * 1.2] + [s * 1.15 for s in speedups])
    ps = np.unique(np.concatenate([np.linspace(0.0, p_max, 400), speedups]))
    fig = Figure(figsize=(WIDTH_IN, 3.6))
    ax = fig.add_subplot()
    ax.plot(ps, [fast_share(problems, p) for p in ps], drawstyle="steps-post", color="#1f5fa8", label="all kernels")
    if any(r.get("fragile") for r in problems):
        robust = [fast_share(problems, p, "status_without_fragile", "best_speedup_without_fragile") for p in ps]
        ax.plot(ps, robust, drawstyle="steps-post", color="#7b1fa2", linestyle="--", label="without fragile kernels")
    ax.axvline(1.0, color="#888888", linewidth=0.8, linestyle=":", label="PyTorch (1x)")
    if target != 1.0:
        ax.axvline(target, color=STATUS_COLORS["success"], linewidth=0.8, linestyle=":", label=f"target ({target:g}x)")
    if not speedups:
        ax.text(0.5, 0.55, "no correct, timed kernel yet", transform=ax.transAxes, ha="center", color="#555555")
    ax.set_xlim(0.0, p_max)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("p (speedup over PyTorch eager)")
    ax.set_ylabel("share of problems")
    ax.set_title(f"fast_p: correct and faster than p ({len(problems)} problem(s))")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    return _svg(fig, "fast_p")


def speedup_svg(problems: list[dict], target: float) -> str:
    """Best speedup per problem on a log scale, drawn from 1x (PyTorch) and coloured by status; problems
    without a timed correct kernel are marked at the left edge."""
    names = [r["problem"] for r in problems]
    timed = [r["best_speedup"] for r in problems if r.get("best_speedup")]
    lo = min([0.5] + timed) / 1.6
    hi = max([2.0, target] + timed) * 1.6
    fig = Figure(figsize=(WIDTH_IN, _rows_height(len(problems))))
    ax = fig.add_subplot()
    ax.set_xscale("log")
    for y, r in enumerate(problems):
        color = STATUS_COLORS.get(r["status"], "#555555")
        s = r.get("best_speedup")
        if s:
            ax.hlines(y, 1.0, s, color=color, linewidth=2.5)
            ax.plot([s], [y], "o", color=color)
            ax.annotate(f"{s:.3g}x", (s, y), xytext=(6, -4), textcoords="offset points", fontsize="small")
        else:
            ax.plot([lo * 1.05], [y], "x", color=color, markersize=8)
            note = {"failed": "no correct kernel", "built": "built, not run"}.get(r["status"], "correct, not timed")
            ax.annotate(note, (lo * 1.05, y), xytext=(8, -4), textcoords="offset points", fontsize="small")
    ax.axvline(1.0, color="#888888", linewidth=0.8)
    if target != 1.0:
        ax.axvline(target, color=STATUS_COLORS["success"], linewidth=0.8, linestyle=":")
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(len(problems) - 0.5, -0.5)
    ax.set_yticks(range(len(problems)), names)
    ax.set_xlabel(f"best speedup over PyTorch eager (log scale; 1x = PyTorch, target {target:g}x)")
    ax.set_title("speedup per problem")
    ax.grid(axis="x", which="both", alpha=0.3)
    shown = [k for k in STATUS_COLORS if k != "built" or any(r["status"] == k for r in problems)]
    handles = [Line2D([], [], color=STATUS_COLORS[k], marker="o", label=STATUS_LABELS.get(k, k)) for k in shown]
    ax.legend(handles=handles, loc="lower right", fontsize="small")
    return _svg(fig, "speedup")


def usage_svg(problems: list[dict], model: str | None) -> str:
    """Tokens (input and output, stacked) and cost per problem; where the price of the model is unknown
    the cost is left out and the figure says so."""
    names = [r["problem"] for r in problems]
    tokens = [r.get("tokens") or {} for r in problems]
    inputs = np.array([t.get("input_tokens", 0) for t in tokens], dtype=float)
    outputs = np.array([t.get("output_tokens", 0) for t in tokens], dtype=float)
    costs = [r.get("cost_usd") for r in problems]
    fig = Figure(figsize=(WIDTH_IN, _rows_height(len(problems))))
    ax_tok, ax_cost = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    ys = np.arange(len(problems))
    ax_tok.barh(ys, inputs, color="#5b8fd1", label="input")
    ax_tok.barh(ys, outputs, left=inputs, color="#f0a04b", label="output")
    ax_tok.set_yticks(ys, names)
    ax_tok.set_ylim(len(problems) - 0.5, -0.5)
    ax_tok.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v else "0"))
    ax_tok.set_xlabel("tokens")
    ax_tok.set_title("tokens per problem")
    ax_tok.legend(loc="lower right", fontsize="small")
    ax_tok.grid(axis="x", alpha=0.3)
    known = [(y, c) for y, c in zip(ys, costs, strict=True) if c is not None]
    if known:
        ax_cost.barh([y for y, _ in known], [c for _, c in known], color="#6a9f58")
        for y, c in zip(ys, costs, strict=True):
            ax_cost.annotate(
                "unknown" if c is None else f"${c:.3g}",
                (c or 0.0, y),
                xytext=(4, -4),
                textcoords="offset points",
                fontsize="small",
            )
        ax_cost.margins(x=0.3)
        ax_cost.set_xlabel("cost (USD)")
    else:
        why = f"no price known for\n{model or 'this model'}:\ncost not computed\n(--price-input / --price-output)"
        ax_cost.text(0.5, 0.5, why, transform=ax_cost.transAxes, ha="center", va="center", color="#555555")
        ax_cost.set_xticks([])
    ax_cost.set_title("cost per problem")
    ax_cost.grid(axis="x", alpha=0.3)
    return _svg(fig, "usage")
