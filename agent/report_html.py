"""report.html: an offline picture of a run, beside summary.json. The run's figures (fast_p, speedup per
problem, tokens and cost), a table of problems linking each one's best kernel, its evaluation and a
readable page per trace, and the run's other reports. Written by build_reports, after every run and by
`agent report`."""

from __future__ import annotations

import re
from pathlib import Path

from agent.html_page import anchor_id, esc, link, page, status_badge
from agent.progress import read_status
from agent.report_plots import fast_p_svg, speedup_svg, usage_svg
from agent.store import write_atomic
from agent.trace_html import write_trace_pages

REPORT = "report.html"
RUN_FILES = ("summary.json", "detailed_report.txt", "detailed_report.json", "run_config.json", "batch_run.log")
_RESULT = re.compile(r"^result_(\d+)\.json$")


def write_report_html(out: Path, summary: dict, problems: list[dict]) -> Path:
    """Write report.html and the trace pages under report/; returns the path of report.html."""
    out = Path(out)
    settings = (summary.get("config") or {}).get("settings") or {}
    target = float(settings.get("target", 1.0))
    pages = {
        r["problem"]: write_trace_pages(out, r["problem"]) if (out / r["problem"]).is_dir() else {} for r in problems
    }
    body = [
        f"<h1>HipGenerator report: {esc(out.resolve().name)}</h1>",
        _run_line(summary, settings, target),
        _run_state(out, problems),
        _overview(summary),
        _figures(problems, target, settings.get("model")),
        _table(out, problems, pages),
        _files(out),
    ]
    path = out / REPORT
    write_atomic(path, page(f"HipGenerator report: {out.resolve().name}", "\n".join(b for b in body if b)))
    return path


def _run_line(summary: dict, settings: dict, target: float) -> str:
    config = summary.get("config") or {}
    device = config.get("device") or {}
    parts = [
        f"model {settings.get('model') or '?'}",
        f"platform {config.get('platform') or settings.get('platform') or '?'}",
        f"device {device.get('device_name') or '?'} ({device.get('arch') or '?'})",
        f"target {target:g}x",
        f"{settings.get('samples', '?')} sample(s) a problem, search {settings.get('search', '?')}",
        f"started {config.get('started_at') or '?'}",
    ]
    return f'<p class="muted">{esc(" | ".join(parts))}</p>'


def _run_state(out: Path, problems: list[dict]) -> str:
    """A warning when the run is not finished (running, stopped, or threads that never ended)."""
    try:
        status = read_status(out) or {}
    except (OSError, ValueError):
        status = {}
    open_threads = sum(1 for r in problems for ended in (r.get("samples") or {}).values() if ended is None)
    never = sum(1 for r in problems if "never ran" in (r.get("errors") or []))
    state = status.get("state")
    if state in (None, "finished") and not open_threads and not never:
        return ""
    counts = status.get("thread_counts") or {}
    text = f"This run is {state or 'of unknown state (no status.json)'}"
    if counts:
        text += ": " + ", ".join(f"{v} {k}" for k, v in counts.items())
    text += f"; {open_threads} thread(s) without an end record, {never} problem(s) never started."
    return f'<p class="warn">{esc(text)} The figures count what is on disk.</p>'


def _overview(summary: dict) -> str:
    totals, tokens = summary.get("totals") or {}, summary.get("tokens") or {}
    fast, robust = summary.get("fast_p") or {}, summary.get("fast_p_without_fragile") or {}
    head = "".join(f"<th>{esc(k)}</th>" for k in fast)
    row = lambda name, d: (
        f"<tr><td>{esc(name)}</td>" + "".join(f'<td class="num">{v:.2f}</td>' for v in d.values()) + "</tr>"
    )
    geomean = summary.get("geomean_speedup_correct")
    cost = summary.get("cost_usd")
    model = ((summary.get("config") or {}).get("settings") or {}).get("model") or "this model"
    cost_text = f"${cost:.2f}" if cost is not None else f"unknown (no price for {model}; --price-input/--price-output)"
    built = f" {status_badge('built')} {totals['built']}" if "built" in totals else ""
    device = (summary.get("config") or {}).get("device") or {}
    compile_only = (
        f'<p class="warn">Compile-only run for {esc(device.get("arch") or "?")} ({esc(device.get("compile_only"))}): '
        "a built kernel compiled for the target with the resources its result reports; its correctness and "
        "speed are unknown, so fast_p counts none of them.</p>\n"
        if "built" in totals
        else ""
    )
    return (
        f"<h2>Summary</h2>\n{compile_only}<p>{summary.get('problems_count', 0)} problem(s): "
        f"{status_badge('success')} {totals.get('success', 0)} {status_badge('partial')} {totals.get('partial', 0)} "
        f"{status_badge('failed')} {totals.get('failed', 0)}{built}; best kernel fragile in {totals.get('fragile', 0)}. "
        f"Geometric mean speedup of the correct ones: {esc(f'{geomean:.3f}x' if geomean else 'none')}.</p>\n"
        f"<p>Tokens: {tokens.get('input_tokens', 0):,} in, {tokens.get('output_tokens', 0):,} out, "
        f"{tokens.get('total_tokens', 0):,} total. Cost: {esc(cost_text)}.</p>\n"
        f"<table><tr><th>fast_p</th>{head}</tr>{row('all kernels', fast)}{row('without fragile kernels', robust)}</table>"
    )


def _figures(problems: list[dict], target: float, model: str | None) -> str:
    if not problems:
        return '<h2>Figures</h2>\n<p class="muted">No problems in this run yet.</p>'
    figures = [
        ("fast_p", fast_p_svg(problems, target)),
        ("speedup", speedup_svg(problems, target)),
        ("usage", usage_svg(problems, model)),
    ]
    return "<h2>Figures</h2>\n" + "\n".join(f'<figure id="fig-{name}">{svg}</figure>' for name, svg in figures)


def _best_cell(problem_dir: Path, r: dict, page_dir: Path) -> str:
    """Links to the best kernel and its evaluation; for a problem without one, to its last attempt."""
    code, result = r.get("best_code"), r.get("best_result")
    if code:
        return f"{link(problem_dir / code, page_dir, code)}<br>{link(problem_dir / result, page_dir, result)}"
    numbers = [int(m.group(1)) for f in problem_dir.glob("result_*.json") if (m := _RESULT.match(f.name))]
    if not numbers:
        return '<span class="muted">no kernel</span>'
    n = max(numbers)
    return (
        f'<span class="muted small">last attempt</span><br>{link(problem_dir / f"code_{n}.py", page_dir, f"code_{n}.py")}'
        f"<br>{link(problem_dir / f'result_{n}.json', page_dir, f'result_{n}.json')}"
    )


def sample_outcome(r: dict, sample: str) -> str:
    """How a sample's thread ended; in a compile-only run, first whether it built a kernel."""
    ended = (r.get("samples") or {}).get(sample) or "not finished"
    if r.get("built_samples") is None:
        return ended
    return f"{'built (not run)' if sample in r['built_samples'] else 'nothing built'}; ended {ended}"


def _traces_cell(r: dict, pages: dict[str, Path], page_dir: Path) -> str:
    if not pages:
        return '<span class="muted">no trace</span>'
    items = [
        f"{link(path, page_dir, f'sample {sample}')}: {esc(sample_outcome(r, sample))}"
        for sample, path in pages.items()
    ]
    return "<br>".join(items)


def _row(out: Path, r: dict, pages: dict[str, Path]) -> str:
    speedup = f"{r['best_speedup']:.3f}x" if r.get("best_speedup") else "-"
    tokens = r.get("tokens") or {}
    cost = "unknown" if r.get("cost_usd") is None else f"${r['cost_usd']:.3f}"
    notes = [f"FRAGILE: {r['fragile']}"] if r.get("fragile") else []
    if r["status"] == "failed":
        notes += (r.get("errors") or [])[-1:]
    cells = [
        f'<td id="{anchor_id("p-" + r["problem"])}">{esc(r["problem"])}</td>',
        f"<td>{status_badge(r['status'])}</td>",
        f'<td class="num">{esc(speedup)}</td>',
        f'<td class="num">{r.get("attempts", 0)} ({r.get("correct_attempts", 0)} correct)</td>',
        f'<td class="num">{tokens.get("input_tokens", 0):,} / {tokens.get("output_tokens", 0):,}</td>',
        f'<td class="num">{esc(cost)}</td>',
        f"<td>{_best_cell(out / r['problem'], r, out)}</td>",
        f"<td>{_traces_cell(r, pages, out)}</td>",
        f'<td class="small">{"<br>".join(esc(n[:300]) for n in notes)}</td>',
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def _table(out: Path, problems: list[dict], pages: dict[str, dict[str, Path]]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("problem", "status", "best", "attempts", "tokens in / out", "cost", "kernel", "traces", "notes")
    )
    rows = "\n".join(_row(out, r, pages.get(r["problem"]) or {}) for r in problems)
    return f'<h2>Problems</h2>\n<table id="problems">\n<tr>{head}</tr>\n{rows}\n</table>'


def _files(out: Path) -> str:
    links = [link(out / name, out, name) for name in RUN_FILES if (out / name).exists()]
    return "<h2>Files</h2>\n<p>" + " | ".join(links) + "</p>" if links else ""
