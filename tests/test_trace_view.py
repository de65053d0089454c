"""agent/trace_view.py: transcripts of real traces built from real langchain messages."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage, message_to_dict
from rich.console import Console

from agent.trace_view import render_traces, thread_summary
from tools.errors import UserError

SYSTEM = "\n".join(f"system rule {i}: write fast kernels" for i in range(1, 21))
REASONING = "The reference is an elementwise ReLU, so it is memory-bound; vectorise with float4 loads."
KERNEL_LINE = "out[i] = fmaxf(x[i], 0.0f);"
SOURCE = "\n".join(
    [
        "import torch",
        "from torch.utils.cpp_extension import load_inline",
        "",
        'CUDA = r"""',
        "__global__ void relu(const float* x, float* out, int n) {",
        "    int i = blockIdx.x * blockDim.x + threadIdx.x;",
        f"    if (i < n) {KERNEL_LINE}",
        "}",
        '"""',
        "",
        "class ModelNew(torch.nn.Module):",
        "    def forward(self, x):",
        "        return run(x)",
    ]
)
LONG_SOURCE = SOURCE + "\n" + "\n".join(f"# filler line {i}" for i in range(100))
LONG_REASONING = REASONING + "\n" + "\n".join(f"thought {i}" for i in range(100))
VERDICT = "CORRECT: max abs error 0 over 5 trials; speedup 1.84x (0.012 ms vs 0.022 ms)"


def _record(node: str, message, elapsed: float = 0.0) -> dict:
    rec = {
        "t": "2025-01-01T00:00:00+00:00",
        "type": "message",
        "node": node,
        "elapsed_s": elapsed,
        "message": message_to_dict(message),
    }
    if isinstance(message, AIMessage):
        rec["reasoning"] = message.additional_kwargs.get("reasoning_content", "")
        u = message.usage_metadata or {}
        rec["usage"] = {k: u.get(k, 0) for k in ("input_tokens", "output_tokens", "total_tokens")}
    return rec


def _thread(reasoning: str = REASONING, source: str = SOURCE, tail: list[dict] | None = None) -> list[dict]:
    msgs = [
        _record("input", SystemMessage(SYSTEM)),
        _record("input", HumanMessage("Optimise problem 19_ReLU (level 1), sample 0.")),
        _record(
            "model",
            AIMessage(
                content="I will read the reference first.",
                additional_kwargs={"reasoning_content": reasoning},
                tool_calls=[{"name": "read_reference", "args": {}, "id": "call_1"}],
                usage_metadata={"input_tokens": 1234, "output_tokens": 567, "total_tokens": 1801},
            ),
            3.5,
        ),
        _record(
            "tools",
            ToolMessage(
                "problem 19_ReLU (level 1)\nreference time: 0.022 ms", tool_call_id="call_1", name="read_reference"
            ),
        ),
        _record(
            "model",
            AIMessage(
                content=[{"type": "text", "text": "Here is a vectorised kernel."}],
                additional_kwargs={"reasoning_content": "Now write it."},
                tool_calls=[
                    {"name": "write_kernel", "args": {"source": source}, "id": "call_2"},
                    {"name": "check_correctness", "args": {}, "id": "call_3"},
                ],
                usage_metadata={"input_tokens": 2000, "output_tokens": 800, "total_tokens": 2800},
            ),
            9.25,
        ),
        _record(
            "tools", ToolMessage("STORED: 13 lines, source rules passed.", tool_call_id="call_2", name="write_kernel")
        ),
        _record("tools", ToolMessage(VERDICT, tool_call_id="call_3", name="check_correctness")),
    ]
    end = [
        {
            "t": "2025-01-01T00:01:00+00:00",
            "type": "end",
            "node": "judge",
            "reason": "target_reached",
            "attempts": 1,
            "best": {"n": 0, "speedup": 1.84, "hash": "abc"},
            "turns": 2,
            "tokens": 4601,
        }
    ]
    return msgs + (end if tail is None else tail)


def _write(path: Path, records: list[dict], garbage: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in records)
    path.write_text(text + (garbage or ""))
    return path


def _render(path: Path, **kw) -> tuple[int, str]:
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    n = render_traces(path, console, **kw)
    return n, console.file.getvalue()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    _write(run / "19_ReLU" / "trace_0.jsonl", _thread())
    _write(
        run / "19_ReLU" / "trace_1.jsonl",
        _thread(
            tail=[
                {"t": "2025-01-01T00:00:30+00:00", "type": "resume", "node": "runner"},
                {
                    "t": "2025-01-01T00:00:40+00:00",
                    "type": "error",
                    "node": "runner",
                    "error": "RuntimeError: LLM backend unreachable",
                },
            ]
        ),
    )
    return run


def test_problem_folder_transcript(run_dir: Path):
    n, out = _render(run_dir / "19_ReLU")
    assert n == 2
    assert "19_ReLU" in out and "sample 0" in out and "sample 1" in out
    assert REASONING in out
    for name in ("read_reference", "write_kernel", "check_correctness"):
        assert name in out
    assert KERNEL_LINE in out
    assert VERDICT in out
    assert "turn 1" in out and "turn 2" in out
    assert "1234 in / 567 out" in out and "2000 in / 800 out" in out
    assert "t+3.5s" in out
    assert "Here is a vectorised kernel." in out
    assert "ended: target_reached" in out and "best 1.84x" in out
    assert "3234 in / 1367 out / 4601 total" in out
    assert "[resumed]" in out and "LLM backend unreachable" in out
    assert "system rule 6" in out and "system rule 7" not in out
    assert "... (20 lines, use --full)" in out


def test_sample_filter(run_dir: Path):
    n, out = _render(run_dir / "19_ReLU", sample=1)
    assert n == 1 and "19_ReLU  sample 1" in out and "19_ReLU  sample 0" not in out
    with pytest.raises(UserError):
        _render(run_dir / "19_ReLU", sample=7)


def test_abbreviation_and_full(tmp_path: Path):
    problem = tmp_path / "run" / "19_ReLU"
    _write(problem / "trace_0.jsonl", _thread(reasoning=LONG_REASONING, source=LONG_SOURCE))
    _, short = _render(problem)
    assert "thought 10" in short and "thought 90" not in short
    assert "filler line 5" in short and "filler line 99" not in short
    assert "use --full" in short
    _, full = _render(problem, full=True)
    assert "thought 99" in full and "filler line 99" in full and "system rule 20" in full
    assert "use --full" not in full


def test_run_folder_renders_every_problem(run_dir: Path):
    _write(run_dir / "20_Sigmoid" / "trace_0.jsonl", _thread())
    _write(run_dir / "3_Conv2D" / "trace_0.jsonl", _thread())
    (run_dir / "2_empty").mkdir()
    (run_dir / "summary.json").write_text("{}")
    n, out = _render(run_dir)
    assert n == 4
    assert (
        out.index("19_ReLU  sample 0")
        < out.index("19_ReLU  sample 1")
        < out.index("20_Sigmoid  sample 0")
        < out.index("3_Conv2D  sample 0")
    )


def test_missing_or_empty_folder_raises(tmp_path: Path):
    with pytest.raises(UserError, match="No trace_\\*.jsonl under"):
        _render(tmp_path / "nope")
    (tmp_path / "empty" / "19_ReLU").mkdir(parents=True)
    with pytest.raises(UserError, match="results/19_ReLU"):
        _render(tmp_path / "empty")


def test_truncated_last_line_is_skipped(tmp_path: Path):
    trace = _write(
        tmp_path / "run" / "19_ReLU" / "trace_0.jsonl",
        _thread(tail=[]),
        garbage='{"t": "2025-01-01T00:01:00", "type": "message", "node": "mod',
    )
    s = thread_summary(trace)
    assert s["turns"] == 2
    assert s["tool_calls"] == {"read_reference": 1, "write_kernel": 1, "check_correctness": 1}
    assert s["tokens"] == {"input_tokens": 3234, "output_tokens": 1367, "total_tokens": 4601}
    assert s["ended"] is None and s["best"] is None
    n, out = _render(trace.parent)
    assert n == 1 and "not finished" in out and KERNEL_LINE in out


def test_summary_of_finished_thread(run_dir: Path):
    s = thread_summary(run_dir / "19_ReLU" / "trace_0.jsonl")
    assert s["ended"] == "target_reached" and s["attempts"] == 1
    assert s["best"] == {"n": 0, "speedup": 1.84, "hash": "abc"}
    s1 = thread_summary(run_dir / "19_ReLU" / "trace_1.jsonl")
    assert s1["ended"].startswith("error: RuntimeError") and s1["resumes"] == 1
