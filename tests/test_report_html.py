"""report.html and its trace pages: written by a real `agent solve` (scripted model, cpu platform) and by
`agent report`, rendered by headless Chromium (a screenshot that is not blank, the DOM it built), and
every link of the rendered pages resolves to a file of the run folder (and anchor)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import AGENT, DATA, agent_env

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="headless Chromium not installed (apt-get install chromium)"
)
# 1_Small_ReLU gets a correct kernel; the script has no entry for 3_Small_Matmul, whose thread fails at once.
SCRIPT = {"1_Small_ReLU": ["cpu/good/relu.py"]}
HOSTILE = '<script>window.pwned = 1</script><img src="x" onerror="alert(1)">'


def agent(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(AGENT + list(args), env=agent_env(**env), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory, cache_dir) -> Path:
    out = tmp_path_factory.mktemp("html") / "results"
    proc = agent(
        *("solve", "--dataset", str(DATA), "--level1", "--range", "1,3", "--samples", "1", "--concurrency", "2"),
        *("--model", "tests.scripted_solver:factory", "--platform", "cpu", "--target", "0.05", "--out", str(out)),
        HIPGEN_SCRIPT=json.dumps(SCRIPT),
        HIPGEN_CACHE_DIR=str(cache_dir),
    )
    assert proc.returncode == 1, proc.stderr[-3000:]  # the 3_Small_Matmul thread could not run
    assert "1 thread(s) could not run to their end (first: 3_Small_Matmul/0: error: RuntimeError" in proc.stderr
    return out


class Links(HTMLParser):
    """The link targets (href, src, xlink:href) and element ids of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            elif name in ("href", "src", "xlink:href") and value is not None:
                self.targets.append(value)


def check_links(page: Path, text: str, root: Path) -> int:
    """Every link in `text` (the page at `page`) is relative and resolves to an existing file under
    `root`, and every anchor to an element id; returns the number of links to other files."""
    parsed, files, bad = Links(text), 0, []
    for target in parsed.targets:
        url = urlsplit(target)
        assert not url.scheme and not url.netloc, f"{page.name} links outside the run: {target}"
        path = (page.parent / unquote(url.path)).resolve() if url.path else page
        if not path.is_file() or not path.is_relative_to(root.resolve()):
            bad.append(target)
            continue
        files += bool(url.path)
        ids = Links(path.read_text()).ids if url.path else parsed.ids
        if url.fragment and unquote(url.fragment) not in ids:
            bad.append(target)
    assert not bad, f"{page}: unresolved links {bad}"
    return files


def browser(page: Path, tmp_path: Path, *args: str) -> str:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    cmd = [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}"]
    proc = subprocess.run([*cmd, *args, page.as_uri()], capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def assert_not_blank(png: Path) -> None:
    from matplotlib.image import imread

    pixels = imread(png)[..., :3]
    ink = (pixels.min(axis=-1) < 0.9).mean()
    assert pixels.std() > 0.05 and 0.02 < ink < 0.9, (pixels.std(), ink)


def test_solve_writes_the_report_and_its_trace_pages(run: Path):
    html = (run / "report.html").read_text()
    assert html.count("<svg") == 3 and "<script" not in html.lower()
    for name in ("1_Small_ReLU", "3_Small_Matmul"):
        assert f'id="p-{name}"' in html
        assert (run / "report" / name / "trace_0.html").is_file()
    assert "code_0.py" in html and "result_0.json" in html
    assert "no price known for" in html  # the scripted model has no price: cost is not made up
    pages = [run / "report.html", *sorted((run / "report").rglob("*.html"))]
    assert sum(check_links(p, p.read_text(), run) for p in pages) > 0
    trace = (run / "report" / "1_Small_ReLU" / "trace_0.html").read_text()
    for text in ("system prompt", "reasoning", "call write_kernel", "result of profile_kernel", "target_reached"):
        assert text in trace
    assert 'class="hl"' in trace  # the kernel source, highlighted


@needs_browser
def test_report_renders_in_chromium_and_its_links_resolve(run: Path, tmp_path: Path):
    png = tmp_path / "report.png"
    browser(run / "report.html", tmp_path, f"--screenshot={png}", "--window-size=1280,2000")
    assert_not_blank(png)
    dom = browser(run / "report.html", tmp_path, "--dump-dom")
    assert dom.count("<svg") == 3 and "1_Small_ReLU" in dom
    assert check_links(run / "report.html", dom, run) >= 4  # kernel, result, traces, the run's files


@needs_browser
def test_trace_page_renders_in_chromium_and_its_links_resolve(run: Path, tmp_path: Path):
    page = run / "report" / "1_Small_ReLU" / "trace_0.html"
    png = tmp_path / "trace.png"
    browser(page, tmp_path, f"--screenshot={png}", "--window-size=1280,2000")
    assert_not_blank(png)
    dom = browser(page, tmp_path, "--dump-dom")
    assert "call write_kernel" in dom and "turn 1" in dom
    assert check_links(page, dom, run) >= 3  # back to the report, the raw trace, the kernel


def _interrupt(run: Path, dest: Path) -> Path:
    """A copy of the run made partial: no correct kernel left, a problem that never started, one with
    results but no trace, a trace cut off mid-write, a status.json of a process that is gone, and model
    output that tries to inject HTML."""
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns("checkpoints.sqlite", "report", "report.html"))
    for f in dest.glob("*/result_*.json"):
        data = json.loads(f.read_text())
        f.write_text(json.dumps(data | {"correct": False, "status": "incorrect", "speedup": None}))
    for f in [*dest.glob("*/best_*"), *dest.glob("1_Small_ReLU/trace_*.jsonl")]:
        f.unlink()
    config = json.loads((dest / "run_config.json").read_text())
    (dest / "run_config.json").write_text(json.dumps(config | {"problems": config["problems"] + ["9_Never_Ran"]}))
    trace = dest / "3_Small_Matmul" / "trace_0.jsonl"
    lines = [line for line in trace.read_text().splitlines() if json.loads(line)["type"] != "error"]
    hostile = {"type": "message", "node": "model", "reasoning": HOSTILE, "message": {"type": "ai", "data": {}}}
    trace.write_text("\n".join([*lines, json.dumps(hostile), '{"type": "message", "node": "mod']))
    status = json.loads((dest / "status.json").read_text())
    (dest / "status.json").write_text(json.dumps(status | {"state": "running", "pid": 2**22 + 1}))
    return dest


def test_agent_report_rebuilds_a_partial_run_with_no_correct_kernel(run: Path, tmp_path: Path):
    out = _interrupt(run, tmp_path / "partial")
    proc = agent("report", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{out / 'report.html'}" in proc.stdout
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 3 and "no correct, timed kernel yet" in html
    assert "This run is stopped" in html and "1 problem(s) never started" in html
    assert 'id="p-9_Never_Ran"' in html and "no trace" in html and "last attempt" in html
    assert "not finished" in html
    pages = [out / "report.html", *sorted((out / "report").rglob("*.html"))]
    for p in pages:
        check_links(p, p.read_text(), out)
        assert "<script" not in p.read_text().lower() and "<img" not in p.read_text().lower()
    trace = (out / "report" / "3_Small_Matmul" / "trace_0.html").read_text()
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in trace


def test_report_of_a_run_without_problems(tmp_path: Path):
    out = tmp_path / "empty"
    out.mkdir()
    (out / "run_config.json").write_text(json.dumps({"settings": {"target": 1.0}, "problems": []}))
    proc = agent("report", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "No problems in this run yet." in (out / "report.html").read_text()


def test_the_link_check_can_fail(tmp_path: Path):
    """The check above finds a missing file, a missing anchor and a link off the machine."""
    (tmp_path / "there.html").write_text('<p id="here">x</p>')
    page = tmp_path / "page.html"
    for planted in ('<a href="missing.py">', '<a href="there.html#nowhere">', '<a href="#nowhere">'):
        with pytest.raises(AssertionError, match="unresolved"):
            check_links(page, planted, tmp_path)
    with pytest.raises(AssertionError, match="outside the run"):
        check_links(page, '<img src="https://cdn.example/x.js">', tmp_path)
    assert check_links(page, '<a href="there.html#here">ok</a>', tmp_path) == 1
