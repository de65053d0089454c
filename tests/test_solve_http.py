"""The same loop through the real ChatOpenAI client against an OpenAI-compatible stub server on
127.0.0.1, streaming and not: reasoning_content reaches the trace, a malformed tool call is answered
with an error message instead of a crash, and the key never reaches a candidate or the results."""

import json

import pytest
from langchain_core.messages import AIMessage, ToolMessage, convert_to_messages

from agent.runner import solve
from agent.settings import Settings
from tests import scripted_solver
from tests.conftest import DATA
from tests.openai_stub import OpenAIStub


def stub_policy(body: dict) -> dict:
    """Replays tests.scripted_solver's policy over the OpenAI wire format, with one malformed call
    the first time the model would write a kernel."""
    raw = json.loads(json.dumps(body["messages"]))
    for m in raw:
        for c in m.get("tool_calls") or []:
            try:
                json.loads(c["function"]["arguments"])
            except json.JSONDecodeError:
                c["function"]["arguments"] = "{}"
    msgs = convert_to_messages(raw)
    names = {c["id"]: c["name"] for m in msgs if isinstance(m, AIMessage) for c in m.tool_calls}
    for m in msgs:
        if isinstance(m, ToolMessage):
            m.name = names.get(m.tool_call_id, m.name)
    bad_ids = {m.tool_call_id for m in msgs if isinstance(m, ToolMessage) and m.content.startswith("ERROR: the call")}
    real = [
        m
        for m in msgs
        if not (isinstance(m, ToolMessage) and m.tool_call_id in bad_ids)
        and not (isinstance(m, AIMessage) and {c["id"] for c in m.tool_calls} & bad_ids)
    ]
    seen_malformed = bool(bad_ids)
    reply = scripted_solver.policy(real)
    if not seen_malformed and any(c["name"] == "write_kernel" for c in reply.tool_calls):
        return {"content": "", "malformed_tool_call": True, "reasoning": "I will write the kernel now."}
    return {
        "content": reply.content,
        "reasoning": reply.additional_kwargs["reasoning_content"],
        "tool_calls": [{"name": c["name"], "args": c["args"]} for c in reply.tool_calls],
        "usage": {"prompt_tokens": 900, "completion_tokens": 80},
    }


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
def test_solve_through_chat_openai(tmp_path, cache_dir, monkeypatch, streaming):
    monkeypatch.setenv("HIPGEN_SCRIPT", json.dumps({"1_Small_ReLU": ["cpu/good/relu.py"]}))
    monkeypatch.setenv("LLM_GATEWAY_KEY", "gw-secret-123")
    with OpenAIStub(stub_policy) as stub:
        s = Settings(
            dataset=DATA,
            level=1,
            range="1",
            samples=1,
            model="openai:stub-model",
            base_url=stub.base_url,
            platform="cpu",
            target=0.05,
            out=tmp_path / "results",
            cache_dir=cache_dir,
            streaming=streaming,
            check_trials=3,
            time_budget_s=0.2,
            llm_retries=0,
        )
        summary = solve(s)
    assert summary["totals"]["success"] == 1
    body = stub.requests[0]
    assert {t["function"]["name"] for t in body["tools"]} == {
        "read_reference",
        "write_kernel",
        "compile_kernel",
        "check_correctness",
        "profile_kernel",
        "finish",
        "read_library",
    }
    assert body.get("stream", False) is streaming
    assert all(a == "Bearer gw-secret-123" for a in stub.authorizations)
    out = tmp_path / "results"
    recs = [json.loads(line) for line in (out / "1_Small_ReLU" / "trace_0.jsonl").read_text().splitlines()]
    ai = [r for r in recs if r["type"] == "message" and r["message"]["type"] == "ai"]
    assert "I will write the kernel now." in [r["reasoning"] for r in ai]
    assert all(r["usage"]["total_tokens"] > 0 for r in ai)
    tool_msgs = [r["message"]["data"] for r in recs if r["type"] == "message" and r["message"]["type"] == "tool"]
    assert any(t["content"].startswith("ERROR: the call to write_kernel could not be parsed") for t in tool_msgs)
    assert tool_msgs[-1]["content"].startswith("SPEEDUP")
    for f in out.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".jsonl", ".log", ".txt", ".py"):
            assert "gw-secret-123" not in f.read_text()
