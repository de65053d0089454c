"""Reading trace_<sample>.jsonl files: their records, and the events a reader follows (system prompt, user
messages, model turns with reasoning and tool calls, tool results, resumes, seeds, errors). Shared by the
terminal transcript (`agent trace`) and the HTML trace pages of report.html."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

TOKEN_KEYS = ("input_tokens", "output_tokens", "total_tokens")


def records(trace_path: Path) -> list[dict]:
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


def sample_of(trace_path: Path) -> str:
    return Path(trace_path).stem.removeprefix("trace_")


def _sample_key(trace_path: Path) -> tuple[int, Any]:
    s = sample_of(trace_path)
    return (0, int(s)) if s.isdigit() else (1, s)


def traces_in(problem_dir: Path, sample: int | None = None) -> list[Path]:
    """The trace files of a problem folder, in sample order (only sample `sample` when given)."""
    pattern = "trace_*.jsonl" if sample is None else f"trace_{sample}.jsonl"
    return sorted((p for p in Path(problem_dir).glob(pattern) if p.is_file()), key=_sample_key)


def _kind(rec: dict) -> str:
    return str(((rec.get("message") or {}).get("type")) or "")


def _data(rec: dict) -> dict:
    data = (rec.get("message") or {}).get("data")
    return data if isinstance(data, dict) else {}


def usage(rec: dict) -> dict[str, int]:
    raw = rec.get("usage") or _data(rec).get("usage_metadata") or {}
    out = {}
    for k in TOKEN_KEYS:
        try:
            out[k] = int(raw.get(k) or 0)
        except (TypeError, ValueError):
            out[k] = 0
    if not out["total_tokens"]:
        out["total_tokens"] = out["input_tokens"] + out["output_tokens"]
    return out


def args_of(raw: Any) -> dict:
    """A tool call's arguments as a dict, whether recorded as a dict or as a JSON string."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return {"(unparsed)": raw}
        return parsed if isinstance(parsed, dict) else {"(value)": parsed}
    return {} if raw is None else {"(value)": raw}


def text_of(content: Any) -> str:
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


def _block_reasoning(content: Any) -> list[str]:
    parts: list[str] = []
    if not isinstance(content, list):
        return parts
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
    return parts


def reasoning_of(rec: dict) -> str:
    """The reasoning the runner recorded; for older records, what the message itself carries."""
    if isinstance(rec.get("reasoning"), str) and rec["reasoning"].strip():
        return rec["reasoning"]
    data = _data(rec)
    parts: list[str] = []
    extra = data.get("additional_kwargs") or {}
    if isinstance(extra.get("reasoning_content"), str):
        parts.append(extra["reasoning_content"])
    parts += _block_reasoning(data.get("content"))
    unique: list[str] = []
    for p in parts:
        if p and p not in unique:
            unique.append(p)
    return "\n\n".join(unique)


def ended_of(recs: list[dict]) -> tuple[str | None, dict | None]:
    """(why the thread ended, the end record); the last end or error record wins."""
    reason, end = None, None
    for rec in recs:
        if rec.get("type") == "end":
            reason, end = (rec.get("reason") or "unknown"), rec
        elif rec.get("type") == "error":
            reason, end = "error: " + str(rec.get("error", ""))[:200], None
    return reason, end


def best_text(best: Any) -> str:
    """A thread's best as the end record holds it: "1.84x (code_3)", "correct, not timed" or "none"."""
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


def thread_summary(trace_path: Path) -> dict:
    """Counts over one trace: model turns, tool calls by name, tokens, why and how it ended.

    Returns {"sample", "turns", "tool_calls": {name: n}, "tokens": {input_tokens, output_tokens,
    total_tokens}, "ended": reason or None (still running / cut off), "attempts", "best", "resumes",
    "errors"}."""
    recs = records(Path(trace_path))
    turns = 0
    calls: Counter[str] = Counter()
    tokens = dict.fromkeys(TOKEN_KEYS, 0)
    resumes = errors = 0
    for rec in recs:
        kind = rec.get("type")
        if kind == "resume":
            resumes += 1
        elif kind == "error":
            errors += 1
        elif kind == "message" and _kind(rec) == "ai":
            turns += 1
            for k, v in usage(rec).items():
                tokens[k] += v
            for tc in _data(rec).get("tool_calls") or []:
                calls[str((tc or {}).get("name") or "?")] += 1
            for tc in _data(rec).get("invalid_tool_calls") or []:
                calls[f"{(tc or {}).get('name') or '?'} (invalid)"] += 1
    ended, end = ended_of(recs)
    return {
        "sample": sample_of(Path(trace_path)),
        "turns": turns,
        "tool_calls": dict(calls),
        "tokens": tokens,
        "ended": ended,
        "attempts": (end or {}).get("attempts"),
        "best": (end or {}).get("best"),
        "resumes": resumes,
        "errors": errors,
    }


def _calls(data: dict, call_names: dict[str, str]) -> list[dict]:
    """A model turn's tool calls, valid ones first: name, id, arguments, and for an invalid one its error."""
    out = []
    for key, invalid in (("tool_calls", False), ("invalid_tool_calls", True)):
        for tc in data.get(key) or []:
            if not isinstance(tc, dict):
                continue
            name = str(tc.get("name") or "?")
            if tc.get("id") and not invalid:
                call_names[str(tc["id"])] = name
            out.append(
                {"name": name, "id": tc.get("id"), "args": args_of(tc.get("args")), "invalid": invalid}
                | ({"error": tc.get("error")} if invalid else {})
            )
    return out


def _message_event(rec: dict, turn: int, call_names: dict[str, str]) -> dict:
    mtype, data = _kind(rec), _data(rec)
    text = text_of(data.get("content"))
    if mtype == "system":
        return {"kind": "system", "text": text}
    if mtype == "human":
        return {"kind": "user", "node": rec.get("node"), "text": text}
    if mtype == "ai":
        return {
            "kind": "turn",
            "turn": turn,
            "elapsed": rec.get("elapsed_s") if isinstance(rec.get("elapsed_s"), (int, float)) else None,
            "usage": usage(rec),
            "reasoning": reasoning_of(rec),
            "reply": text,
            "calls": _calls(data, call_names),
        }
    if mtype == "tool":
        name = data.get("name") or call_names.get(str(data.get("tool_call_id")), "?")
        return {"kind": "result", "name": name, "status": data.get("status") or "success", "text": text}
    return {"kind": "other", "type": mtype or "message", "text": text}


def events(recs: list[dict]) -> list[dict]:
    """What a reader follows through a thread, in order. Each event is a dict with "kind":
    resume; seeded (from: the starting kernels); error (text); system (text); user (node, text);
    turn (turn, elapsed, usage, reasoning, reply, calls: [{name, id, args, invalid, error?}]);
    result (name, status, text); other (type, text)."""
    out: list[dict] = []
    turn = 0
    call_names: dict[str, str] = {}
    for rec in recs:
        kind = rec.get("type")
        if kind == "resume":
            out.append({"kind": "resume"})
        elif kind == "seeded":
            out.append({"kind": "seeded", "from": [k for k in rec.get("from") or [] if isinstance(k, dict)]})
        elif kind == "error":
            out.append({"kind": "error", "text": str(rec.get("error", ""))})
        elif kind == "message":
            turn += _kind(rec) == "ai"
            out.append(_message_event(rec, turn, call_names))
    return out
