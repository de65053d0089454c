"""The pieces every page of the HTML report shares: escaping, relative links, and the page itself (one
self-contained file: its style inline, nothing fetched from a server or the network)."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from urllib.parse import quote

from pygments.formatters import HtmlFormatter

from agent.report_plots import STATUS_COLORS, STATUS_LABELS

CODE_CLASS = "hl"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em auto;
       max-width: 1200px; padding: 0 1em; color: #1d1d1f; background: #ffffff; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; }
a { color: #1f5fa8; } .muted { color: #666; } .small { font-size: 0.85em; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { font-weight: 600; padding: 0.05em 0.45em; border-radius: 0.3em; color: #fff; }
.warn { background: #fff4d6; border: 1px solid #e0b84f; padding: 0.5em 0.8em; border-radius: 0.3em; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: 0.5em 0.7em; overflow: auto; max-height: 36em;
      white-space: pre-wrap; word-break: break-word; font-size: 0.86em; }
figure { margin: 1em 0; } figure svg { width: 100%; max-width: 960px; height: auto; }
.event { margin: 0.6em 0; padding-left: 0.8em; border-left: 4px solid #d0d7de; }
.event.turn { border-left-color: #1f5fa8; } .event.result { border-left-color: #17a2b8; }
.event.user { border-left-color: #2e7d32; } .event.system { border-left-color: #7b1fa2; }
.event.error, .event.result.failed { border-left-color: #c62828; } .event.note { border-left-color: #e0b84f; }
.label { font-weight: 600; } .reasoning pre { font-style: italic; background: #fbfaf3; }
.call { margin: 0.4em 0 0.4em 0.8em; } .call .label { color: #0b6e7f; }
"""


def esc(text: object) -> str:
    """Text made safe to place in HTML, inside elements and attribute values alike."""
    return html.escape(str(text), quote=True)


def href(target: Path, page_dir: Path) -> str:
    """The relative, URL-quoted link from a page in `page_dir` to `target` (both under the run folder)."""
    rel = os.path.relpath(target, page_dir)
    return esc(quote(Path(rel).as_posix()))


def anchor_id(name: str) -> str:
    """An element id made of `name` that needs no quoting in a link's fragment."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def link(target: Path, page_dir: Path, text: str, anchor: str = "") -> str:
    """A link to `target` when it exists, else the text alone (a report never links a missing file);
    `anchor` is an id made by anchor_id."""
    if not target.exists():
        return esc(text)
    return f'<a href="{href(target, page_dir)}{"#" + esc(anchor) if anchor else ""}">{esc(text)}</a>'


def status_badge(status: str) -> str:
    color = STATUS_COLORS.get(status, "#555555")
    return f'<span class="status" style="background:{color}">{esc(STATUS_LABELS.get(status, status))}</span>'


def page(title: str, body: str) -> str:
    code_css = HtmlFormatter(style="default").get_style_defs(f".{CODE_CLASS}")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}\n{code_css}\n</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
