"""`agent trace DIR`: a readable transcript of a problem's agent threads (trace_<sample>.jsonl files).

Meant for kernel engineers who want to follow the model's reasoning: every turn shows the reasoning, the
reply text, each tool call (kernel sources as highlighted code) and each tool result; long parts are cut
to a few dozen lines unless `full`. Output stays readable when piped to a file (no markup is interpreted
inside trace text)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text

from agent.seeding import describe
from tools.errors import UserError
from tools.registry import code_args

SYSTEM_LINES = 6
REASONING_LINES = 40
SOURCE_LINES = 60
RESULT_LINES = 40
TOKEN_KEYS = ("input_tokens", "output_tokens", "total_tokens")


# ---------------------------------------------------------------------------------------------- reading


def _records(trace_path: Path) -> list[dict]:
    """The JSON records of one trace; lines that are not a JSON object (a run cut off mid-write) are skipped."""
    out: list[dict] = []
    try:
        lines = Path(trace_path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _sample_of(trace_path: Path) -> str:
    return trace_path.stem.removeprefix("trace_")


def _sample_key(trace_path: Path) -> tuple[int, Any]:
    s = _sample_of(trace_path)
    return (0, int(s)) if s.isdigit() else (1, s)


def _traces_in(problem_dir: Path, sample: int | None) -> list[Path]:
    pattern = "trace_*.jsonl" if sample is None else f"trace_{sample}.jsonl"
    return sorted((p for p in problem_dir.glob(pattern) if p.is_file()), key=_sample_key)


def _kind(rec: dict) -> str:
    return str(((rec.get("message") or {}).get("type")) or "")


def _data(rec: dict) -> dict:
    data = (rec.get("message") or {}).get("data")
    return data if isinstance(data, dict) else {}


def _usage(rec: dict) -> dict[str, int]:
    usage = rec.get("usage") or _data(rec).get("usage_metadata") or {}
    out = {}
    for k in TOKEN_KEYS:
        try:
            out[k] = int(usage.get(k) or 0)
        except (TypeError, ValueError):
            out[k] = 0
    if not out["total_tokens"]:
        out["total_tokens"] = out["input_tokens"] + out["output_tokens"]
    return out


def _args(raw: Any) -> dict:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return {"(unparsed)": raw}
        return parsed if isinstance(parsed, dict) else {"(value)": parsed}
    return {} if raw is None else {"(value)": raw}


def _text_of(content: Any) -> str:
    """The readable text of a message content: a string, or the text blocks of a content-block list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "\n".join(p for p in parts if p)
    if isinstance(content, dict):
        return json.dumps(content, indent=2, default=str)
    return str(content)


def _reasoning_of(rec: dict) -> str:
    """The reasoning the runner recorded; for older records, what the message itself carries."""
    if isinstance(rec.get("reasoning"), str) and rec["reasoning"].strip():
        return rec["reasoning"]
    data = _data(rec)
    parts: list[str] = []
    extra = data.get("additional_kwargs") or {}
    if isinstance(extra.get("reasoning_content"), str):
        parts.append(extra["reasoning_content"])
    content = data.get("content")
    if isinstance(content, list):
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "thinking" and isinstance(block.get("thinking"), str):
                parts.append(block["thinking"])
            elif block.get("type") == "reasoning":
                if isinstance(block.get("reasoning"), str):
                    parts.append(block["reasoning"])
                for s in block.get("summary") or []:
                    if isinstance(s, dict) and isinstance(s.get("text"), str):
                        parts.append(s["text"])
    unique: list[str] = []
    for p in parts:
        if p and p not in unique:
            unique.append(p)
    return "\n\n".join(unique)


def _ended_of(records: list[dict]) -> tuple[str | None, dict | None]:
    """(why the thread ended, the end record); the last end or error record wins."""
    reason, end = None, None
    for rec in records:
        if rec.get("type") == "end":
            reason, end = (rec.get("reason") or "unknown"), rec
        elif rec.get("type") == "error":
            reason, end = "error: " + str(rec.get("error", ""))[:200], None
    return reason, end


# ---------------------------------------------------------------------------------------------- summary


def thread_summary(trace_path: Path) -> dict:
    """Counts over one trace: model turns, tool calls by name, tokens, why and how it ended.

    Returns {"sample", "turns", "tool_calls": {name: n}, "tokens": {input_tokens, output_tokens,
    total_tokens}, "ended": reason or None (still running / cut off), "attempts", "best", "resumes",
    "errors"}."""
    records = _records(Path(trace_path))
    turns = 0
    calls: Counter[str] = Counter()
    tokens = dict.fromkeys(TOKEN_KEYS, 0)
    resumes = errors = 0
    for rec in records:
        kind = rec.get("type")
        if kind == "resume":
            resumes += 1
        elif kind == "error":
            errors += 1
        elif kind == "message" and _kind(rec) == "ai":
            turns += 1
            for k, v in _usage(rec).items():
                tokens[k] += v
            for tc in _data(rec).get("tool_calls") or []:
                calls[str((tc or {}).get("name") or "?")] += 1
            for tc in _data(rec).get("invalid_tool_calls") or []:
                calls[f"{(tc or {}).get('name') or '?'} (invalid)"] += 1
    ended, end = _ended_of(records)
    return {
        "sample": _sample_of(Path(trace_path)),
        "turns": turns,
        "tool_calls": dict(calls),
        "tokens": tokens,
        "ended": ended,
        "attempts": (end or {}).get("attempts"),
        "best": (end or {}).get("best"),
        "resumes": resumes,
        "errors": errors,
    }


# ---------------------------------------------------------------------------------------------- rendering


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


def _fmt_best(best: Any) -> str:
    if not isinstance(best, dict):
        return "none"
    speedup = best.get("speedup")
    s = (
        f"{speedup:.3g}x"
        if isinstance(speedup, (int, float))
        else "correct, not timed"
        if speedup is None
        else str(speedup)
    )
    if best.get("n") is not None:
        s += f" (code_{best['n']})"
    return s


def _render_tool_call(console: Console, tc: dict, full: bool, invalid: bool = False) -> None:
    name = str(tc.get("name") or "?")
    args = _args(tc.get("args"))
    head = Text("  -> call ", style="bold cyan")
    head.append(name + ("  [invalid call]" if invalid else ""), style="bold cyan")
    if tc.get("id"):
        head.append(f"  id {tc['id']}", style="dim")
    console.print(head)
    if invalid and tc.get("error"):
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


def _render_system(console: Console, data: dict, full: bool) -> None:
    text = _text_of(data.get("content"))
    n = len(text.splitlines())
    _label(console, "system prompt", "bold magenta", f"{n} lines")
    if full or n <= SYSTEM_LINES:
        _body(console, text, n, True)
    else:
        _body(console, "\n".join(text.splitlines()[:SYSTEM_LINES]), SYSTEM_LINES, True)
        console.print(Text(f"  ... ({n} lines, use --full)", style="dim"))


def _render_ai(console: Console, rec: dict, data: dict, turn: int, call_names: dict[str, str], full: bool) -> None:
    usage = _usage(rec)
    elapsed = rec.get("elapsed_s")
    when = f"t+{elapsed:.1f}s" if isinstance(elapsed, (int, float)) else ""
    console.print()
    _label(console, f"turn {turn}", "bold blue", "  ".join(x for x in (when, f"tokens {_fmt_tokens(usage)}") if x))
    reasoning = _reasoning_of(rec)
    if reasoning.strip():
        console.print(Text("  reasoning:", style="dim italic"))
        _body(console, reasoning, REASONING_LINES, full, style="dim italic", indent=4)
    text = _text_of(data.get("content"))
    if text.strip():
        console.print(Text("  reply:", style="dim"))
        _body(console, text, RESULT_LINES, full, indent=4)
    for tc in data.get("tool_calls") or []:
        if isinstance(tc, dict):
            if tc.get("id"):
                call_names[str(tc["id"])] = str(tc.get("name") or "?")
            _render_tool_call(console, tc, full)
    for tc in data.get("invalid_tool_calls") or []:
        if isinstance(tc, dict):
            _render_tool_call(console, tc, full, invalid=True)


def _render_summary(console: Console, trace_path: Path) -> None:
    s = thread_summary(trace_path)
    calls = ", ".join(f"{k} x{v}" for k, v in sorted(s["tool_calls"].items())) or "none"
    tok = s["tokens"]
    ended = s["ended"] or "not finished (no end record: still running or cut off)"
    attempts = "?" if s["attempts"] is None else s["attempts"]
    console.print()
    console.print(
        Text(
            f"ended: {ended} | attempts {attempts} | best {_fmt_best(s['best'])} | "
            f"{s['turns']} turns | tokens {tok['input_tokens']} in / {tok['output_tokens']} out / "
            f"{tok['total_tokens']} total",
            style="bold",
        )
    )
    console.print(Text(f"tool calls: {calls}", style="dim"))
    console.print()


def _render_thread(console: Console, problem: str, trace_path: Path, full: bool) -> None:
    records = _records(trace_path)
    sample = _sample_of(trace_path)
    console.print(Rule(Text(f"{problem}  sample {sample}", style="bold")))
    turn = 0
    call_names: dict[str, str] = {}
    for rec in records:
        kind = rec.get("type")
        if kind == "resume":
            _label(console, "[resumed]", "bold yellow", "the thread was picked up again from its checkpoint")
            continue
        if kind == "seeded":
            _label(console, "[seeded]", "bold yellow", "started from other samples' best kernels:")
            for k in rec.get("from") or []:
                console.print(Text(f"     {describe(k)}", style="yellow"))
            continue
        if kind == "error":
            _label(console, "[error]", "bold red")
            _body(console, str(rec.get("error", "")), RESULT_LINES, full, style="red")
            continue
        if kind != "message":
            continue
        mtype, data = _kind(rec), _data(rec)
        if mtype == "system":
            _render_system(console, data, full)
        elif mtype == "human":
            node = rec.get("node")
            _label(console, "user" if node in (None, "input") else f"user ({node})", "bold green")
            _body(console, _text_of(data.get("content")), RESULT_LINES, full)
        elif mtype == "ai":
            turn += 1
            _render_ai(console, rec, data, turn, call_names, full)
        elif mtype == "tool":
            name = data.get("name") or call_names.get(str(data.get("tool_call_id")), "?")
            status = data.get("status") or "success"
            _label(
                console, f"  <- result {name}", "bold cyan" if status == "success" else "bold red", f"status {status}"
            )
            _body(console, _text_of(data.get("content")), RESULT_LINES, full, indent=5)
        else:
            _label(console, f"{mtype or 'message'}", "bold")
            _body(console, _text_of(data.get("content")), RESULT_LINES, full)
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
    own = _traces_in(path, sample)
    if own:
        groups = [(path.name, own)]
    else:
        groups = [(d.name, t) for d in sorted(p for p in path.iterdir() if p.is_dir()) if (t := _traces_in(d, sample))]
    if not groups:
        raise _no_traces(path, sample)
    count = 0
    for problem, traces in groups:
        for trace in traces:
            _render_thread(console, problem, trace, full)
            count += 1
    return count
