"""`agent trace DIR`: a readable transcript of a problem's agent threads (trace_<sample>.jsonl files).

Meant for kernel engineers who want to follow the model's reasoning: every turn shows the reasoning, the
reply text, each tool call (kernel sources as highlighted code) and each tool result; long parts are cut
to a few dozen lines unless `full`. Output stays readable when piped to a file (no markup is interpreted
inside trace text)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text

from agent.seeding import describe
from agent.trace_records import best_text, events, records, sample_of, thread_summary, traces_in
from tools.errors import UserError
from tools.registry import code_args

SYSTEM_LINES = 6
REASONING_LINES = 40
SOURCE_LINES = 60
RESULT_LINES = 40


def _clip(text: str, limit: int, full: bool) -> tuple[str, str | None]:
    """(shown text, note about what was cut or None)."""
    lines = text.splitlines()
    if full or len(lines) <= limit:
        return text, None
    return "\n".join(lines[:limit]), f"... ({len(lines) - limit} more lines, {len(lines)} in all, use --full)"


def _label(console: Console, label: str, style: str, rest: str = "") -> None:
    t = Text(label, style=style)
    if rest:
        t.append("  " + rest, style="dim")
    console.print(t)


def _body(console: Console, text: str, limit: int, full: bool, style: str = "", indent: int = 2) -> None:
    if not text.strip():
        return
    shown, note = _clip(text.rstrip(), limit, full)
    pad = " " * indent
    console.print(Text("\n".join(pad + line for line in shown.splitlines()), style=style))
    if note:
        console.print(Text(pad + note, style="dim"))


def _fmt_tokens(u: dict[str, int]) -> str:
    return f"{u['input_tokens']} in / {u['output_tokens']} out"


def _render_tool_call(console: Console, tc: dict, full: bool) -> None:
    name, args = tc["name"], tc["args"]
    head = Text("  -> call ", style="bold cyan")
    head.append(name + ("  [invalid call]" if tc["invalid"] else ""), style="bold cyan")
    if tc.get("id"):
        head.append(f"  id {tc['id']}", style="dim")
    console.print(head)
    if tc.get("error"):
        _body(console, f"error: {tc['error']}", RESULT_LINES, full, style="red", indent=5)
    code = {k: v for k, v in args.items() if k in code_args(name) and isinstance(v, str)}
    for key, value in args.items():
        if key not in code:
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            _body(console, f"{key} = {shown}", RESULT_LINES, full, indent=5)
    for key, source in code.items():
        shown, note = _clip(source.rstrip("\n"), SOURCE_LINES, full)
        console.print(Text(f"     {key} ({len(source.splitlines())} lines):", style="dim"))
        highlighted = Syntax(shown, "python", theme="ansi_dark", background_color="default").highlight(shown)
        highlighted.rstrip()
        console.print(Text("\n").join(Text("     ") + line for line in highlighted.split("\n")))
        if note:
            console.print(Text("     " + note, style="dim"))


def _render_system(console: Console, text: str, full: bool) -> None:
    n = len(text.splitlines())
    _label(console, "system prompt", "bold magenta", f"{n} lines")
    if full or n <= SYSTEM_LINES:
        _body(console, text, n, True)
    else:
        _body(console, "\n".join(text.splitlines()[:SYSTEM_LINES]), SYSTEM_LINES, True)
        console.print(Text(f"  ... ({n} lines, use --full)", style="dim"))


def _render_turn(console: Console, ev: dict, full: bool) -> None:
    when = f"t+{ev['elapsed']:.1f}s" if ev["elapsed"] is not None else ""
    console.print()
    _label(
        console,
        f"turn {ev['turn']}",
        "bold blue",
        "  ".join(x for x in (when, f"tokens {_fmt_tokens(ev['usage'])}") if x),
    )
    if ev["reasoning"].strip():
        console.print(Text("  reasoning:", style="dim italic"))
        _body(console, ev["reasoning"], REASONING_LINES, full, style="dim italic", indent=4)
    if ev["reply"].strip():
        console.print(Text("  reply:", style="dim"))
        _body(console, ev["reply"], RESULT_LINES, full, indent=4)
    for tc in ev["calls"]:
        _render_tool_call(console, tc, full)


def _render_summary(console: Console, trace_path: Path) -> None:
    s = thread_summary(trace_path)
    calls = ", ".join(f"{k} x{v}" for k, v in sorted(s["tool_calls"].items())) or "none"
    tok = s["tokens"]
    ended = s["ended"] or "not finished (no end record: still running or cut off)"
    attempts = "?" if s["attempts"] is None else s["attempts"]
    console.print()
    console.print(
        Text(
            f"ended: {ended} | attempts {attempts} | best {best_text(s['best'])} | "
            f"{s['turns']} turns | tokens {tok['input_tokens']} in / {tok['output_tokens']} out / "
            f"{tok['total_tokens']} total",
            style="bold",
        )
    )
    console.print(Text(f"tool calls: {calls}", style="dim"))
    console.print()


def _render_event(console: Console, ev: dict, full: bool) -> None:
    kind = ev["kind"]
    if kind == "resume":
        _label(console, "[resumed]", "bold yellow", "the thread was picked up again from its checkpoint")
    elif kind == "seeded":
        _label(console, "[seeded]", "bold yellow", "started from other samples' best kernels:")
        for k in ev["from"]:
            console.print(Text(f"     {describe(k)}", style="yellow"))
    elif kind == "error":
        _label(console, "[error]", "bold red")
        _body(console, ev["text"], RESULT_LINES, full, style="red")
    elif kind == "system":
        _render_system(console, ev["text"], full)
    elif kind == "user":
        _label(console, "user" if ev["node"] in (None, "input") else f"user ({ev['node']})", "bold green")
        _body(console, ev["text"], RESULT_LINES, full)
    elif kind == "turn":
        _render_turn(console, ev, full)
    elif kind == "result":
        style = "bold cyan" if ev["status"] == "success" else "bold red"
        _label(console, f"  <- result {ev['name']}", style, f"status {ev['status']}")
        _body(console, ev["text"], RESULT_LINES, full, indent=5)
    else:
        _label(console, ev["type"], "bold")
        _body(console, ev["text"], RESULT_LINES, full)


def _render_thread(console: Console, problem: str, trace_path: Path, full: bool) -> None:
    console.print(Rule(Text(f"{problem}  sample {sample_of(trace_path)}", style="bold")))
    for ev in events(records(trace_path)):
        _render_event(console, ev, full)
    _render_summary(console, trace_path)


def _no_traces(path: Path, sample: int | None) -> UserError:
    name = "trace_*.jsonl" if sample is None else f"trace_{sample}.jsonl"
    return UserError(
        f"No {name} under {path}: point agent trace at a problem folder of a results directory (e.g. results/19_ReLU)."
    )


def render_traces(path: Path, console: Console, full: bool = False, sample: int | None = None) -> int:
    """Print the transcript of every thread under `path` (a problem folder, or a run folder holding problem
    folders, rendered in name order); only sample `sample` when given. Returns how many traces were shown."""
    path = Path(path)
    if not path.is_dir():
        raise _no_traces(path, sample)
    own = traces_in(path, sample)
    if own:
        groups = [(path.name, own)]
    else:
        groups = [(d.name, t) for d in sorted(p for p in path.iterdir() if p.is_dir()) if (t := traces_in(d, sample))]
    if not groups:
        raise _no_traces(path, sample)
    count = 0
    for problem, traces in groups:
        for trace in traces:
            _render_thread(console, problem, trace, full)
            count += 1
    return count


__all__ = ["render_traces", "thread_summary"]
