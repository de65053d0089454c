"""The trace pages of report.html: one HTML page per trace_<sample>.jsonl, under <run>/report/<problem>/,
showing the system and user messages, the model's reasoning and replies, each tool call with its
arguments (kernel sources highlighted) and each tool result. Every piece of trace text is escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from agent.html_page import CODE_CLASS, anchor_id, esc, href, link, page
from agent.seeding import describe
from agent.store import write_atomic
from agent.trace_records import best_text, events, records, sample_of, thread_summary, traces_in
from tools.registry import code_args

_CANDIDATE = re.compile(r"\[candidate (\d+);")


def page_path(out: Path, problem: str, sample: str) -> Path:
    return out / "report" / problem / f"trace_{sample}.html"


def write_trace_pages(out: Path, problem: str) -> dict[str, Path]:
    """Write the page of every trace of `problem`; returns {sample: page}."""
    pages = {}
    for trace in traces_in(out / problem):
        path = page_path(out, problem, sample_of(trace))
        write_atomic(path, trace_page(out, problem, trace))
        pages[sample_of(trace)] = path
    return pages


def _pre(text: str) -> str:
    return f"<pre>{esc(text.rstrip())}</pre>" if text.strip() else ""


def _code(source: str) -> str:
    return highlight(source, PythonLexer(), HtmlFormatter(cssclass=CODE_CLASS))


def _candidate_links(text: str, problem_dir: Path, page_dir: Path) -> str:
    """Links to the files of the candidates a tool result names ("[candidate N; ..."), where they exist."""
    found = dict.fromkeys(_CANDIDATE.findall(text))
    parts = [
        f"candidate {n}: {link(problem_dir / f'code_{n}.py', page_dir, f'code_{n}.py')} "
        f"{link(problem_dir / f'result_{n}.json', page_dir, f'result_{n}.json')}"
        for n in found
        if (problem_dir / f"code_{n}.py").exists()
    ]
    return f'<div class="small">{" | ".join(parts)}</div>' if parts else ""


def _call(tc: dict) -> str:
    name, args = tc["name"], tc["args"]
    head = f'<div class="call"><span class="label">call {esc(name)}</span>'
    head += " <span class='status' style='background:#c62828'>invalid call</span>" if tc["invalid"] else ""
    head += f' <span class="muted small">id {esc(tc["id"])}</span>' if tc.get("id") else ""
    parts = [head, _pre(f"error: {tc['error']}") if tc.get("error") else ""]
    code = {k: v for k, v in args.items() if k in code_args(name) and isinstance(v, str)}
    for key, value in args.items():
        if key in code:
            parts.append(f'<div class="muted small">{esc(key)} ({len(value.splitlines())} lines):</div>')
            parts.append(_code(value))
        else:
            parts.append(_pre(f"{key} = {value if isinstance(value, str) else json.dumps(value, default=str)}"))
    return "\n".join(parts) + "</div>"


def _turn(ev: dict) -> str:
    u = ev["usage"]
    when = f"t+{ev['elapsed']:.1f}s, " if ev["elapsed"] is not None else ""
    parts = [
        f'<div class="event turn" id="turn-{ev["turn"]}"><span class="label">turn {ev["turn"]}</span> '
        f'<span class="muted small">{esc(when)}tokens {u["input_tokens"]} in / {u["output_tokens"]} out</span>'
    ]
    if ev["reasoning"].strip():
        parts.append(f'<div class="reasoning"><div class="muted small">reasoning</div>{_pre(ev["reasoning"])}</div>')
    if ev["reply"].strip():
        parts.append(f'<div class="muted small">reply</div>{_pre(ev["reply"])}')
    parts += [_call(tc) for tc in ev["calls"]]
    return "\n".join(parts) + "</div>"


def _seeded(ev: dict, problem_dir: Path, page_dir: Path) -> str:
    items = []
    for k in ev["from"]:
        code = f"code_{k.get('n')}.py"
        items.append(f"<li>{esc(describe(k))} ({link(problem_dir / code, page_dir, code)})</li>")
    return (
        '<div class="event note"><span class="label">seeded</span>: started from other samples\' best kernels'
        f"<ul>{''.join(items)}</ul></div>"
    )


def _event(ev: dict, problem_dir: Path, page_dir: Path) -> str:
    kind = ev["kind"]
    if kind == "turn":
        return _turn(ev)
    if kind == "result":
        failed = " failed" if ev["status"] != "success" else ""
        return (
            f'<div class="event result{failed}"><span class="label">result of {esc(ev["name"])}</span> '
            f'<span class="muted small">status {esc(ev["status"])}</span>'
            f"{_candidate_links(ev['text'], problem_dir, page_dir)}{_pre(ev['text'])}</div>"
        )
    if kind == "system":
        n = len(ev["text"].splitlines())
        return f'<div class="event system"><details><summary class="label">system prompt ({n} lines)</summary>{_pre(ev["text"])}</details></div>'
    if kind == "user":
        who = "user" if ev["node"] in (None, "input") else f"user ({ev['node']})"
        return f'<div class="event user"><span class="label">{esc(who)}</span>{_pre(ev["text"])}</div>'
    if kind == "seeded":
        return _seeded(ev, problem_dir, page_dir)
    if kind == "resume":
        return '<div class="event note"><span class="label">resumed</span>: the thread was picked up again from its checkpoint</div>'
    if kind == "error":
        return f'<div class="event error"><span class="label">error</span>{_pre(ev["text"])}</div>'
    return f'<div class="event"><span class="label">{esc(ev["type"])}</span>{_pre(ev["text"])}</div>'


def _header(out: Path, problem: str, trace: Path, page_dir: Path, turns: int) -> str:
    s = thread_summary(trace)
    tok = s["tokens"]
    best = s["best"] if isinstance(s["best"], dict) else {}
    best_file = out / problem / f"code_{best.get('n')}.py"
    calls = ", ".join(f"{k} x{v}" for k, v in sorted(s["tool_calls"].items())) or "none"
    nav = " ".join(f'<a href="#turn-{t}">{t}</a>' for t in range(1, turns + 1)) or "none"
    return (
        f"<h1>{esc(problem)}, sample {esc(sample_of(trace))}</h1>\n"
        # report.html is written right after its trace pages, so this link is not checked for existence
        f'<p><a href="{href(out / "report.html", page_dir)}#{anchor_id("p-" + problem)}">back to the report</a> | '
        f"{link(trace, page_dir, trace.name)} (the raw trace)</p>\n"
        f"<p><b>ended:</b> {esc(s['ended'] or 'not finished (no end record: still running or cut off)')} | "
        f"<b>attempts</b> {esc('?' if s['attempts'] is None else s['attempts'])} | "
        f"<b>best</b> {esc(best_text(s['best']))}"
        f"{' (' + link(best_file, page_dir, best_file.name) + ')' if best.get('n') is not None else ''} | "
        f"{s['turns']} turns | tokens {tok['input_tokens']} in / {tok['output_tokens']} out / {tok['total_tokens']} total</p>\n"
        f'<p class="small muted">tool calls: {esc(calls)}</p>\n<p class="small">turns: {nav}</p>'
    )


def trace_page(out: Path, problem: str, trace: Path) -> str:
    page_dir = page_path(out, problem, sample_of(trace)).parent
    evs = events(records(trace))
    turns = sum(1 for ev in evs if ev["kind"] == "turn")
    body = [_header(out, problem, trace, page_dir, turns)]
    body += [_event(ev, out / problem, page_dir) for ev in evs]
    if not evs:
        body.append('<p class="muted">This trace holds no readable record yet.</p>')
    return page(f"{problem} sample {sample_of(trace)}: trace", "\n".join(body))
