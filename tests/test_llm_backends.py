"""The real ChatOpenAI HTTP path against the local stub, and the backend spec errors."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from graphs.llm import ReasoningChatOpenAI, load_chat_model, reasoning_text, usage_of
from tools.errors import BackendError

try:
    from openai_stub import OpenAIStub
    from scripted_model import ScriptedChatModel
except ImportError:  # tests/ imported as a package
    from tests.openai_stub import OpenAIStub
    from tests.scripted_model import ScriptedChatModel


@tool
def write_kernel(path: str, source: str) -> str:
    """Write a kernel source file."""
    return "ok"


TURN = {
    "reasoning": "First think about tiling, then about shared memory.",
    "content": "I will write the kernel now.",
    "tool_calls": [{"name": "write_kernel", "args": {"path": "k.cu", "source": "__global__ void k(){}"}}],
    "usage": {"prompt_tokens": 120, "completion_tokens": 45},
}


def make_scripted_model(temperature: float | None = None) -> ScriptedChatModel:
    return ScriptedChatModel([AIMessage(content=f"scripted t={temperature}")])


def make_not_a_model() -> object:
    return object()


@pytest.fixture
def no_keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "LLM_GATEWAY_KEY"):
        monkeypatch.delenv(name, raising=False)


def assert_full_reply(message: AIMessage) -> None:
    assert message.content == TURN["content"]
    assert message.additional_kwargs["reasoning_content"] == TURN["reasoning"]
    assert reasoning_text(message) == TURN["reasoning"]
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("write_kernel", {"path": "k.cu", "source": "__global__ void k(){}"})
    ]
    assert message.tool_calls[0]["id"].startswith("call_")
    assert usage_of(message) == {"input_tokens": 120, "output_tokens": 45, "total_tokens": 165}


def test_openai_non_streaming_keeps_reasoning_tools_and_usage(no_keys):
    with OpenAIStub([TURN]) as stub:
        model = load_chat_model("openai:stub-model", base_url=stub.base_url)
        assert isinstance(model, ReasoningChatOpenAI)
        reply = model.bind_tools([write_kernel]).invoke([HumanMessage("write it")])
    assert_full_reply(reply)
    body = stub.requests[0]
    assert body["model"] == "stub-model"
    assert not body.get("stream")
    assert [t["function"]["name"] for t in body["tools"]] == ["write_kernel"]
    assert stub.authorizations[0] == "Bearer EMPTY"


def test_openai_streaming_flag_concatenates_reasoning(no_keys):
    with OpenAIStub([TURN]) as stub:
        model = load_chat_model("openai:stub-model", base_url=stub.base_url, streaming=True)
        reply = model.bind_tools([write_kernel]).invoke([HumanMessage("write it")])
    assert_full_reply(reply)
    assert stub.requests[0]["stream"] is True
    assert stub.requests[0]["stream_options"] == {"include_usage": True}


def test_openai_stream_chunks_add_up(no_keys):
    with OpenAIStub([TURN]) as stub:
        model = load_chat_model("openai:stub-model", base_url=stub.base_url)
        chunks = list(model.bind_tools([write_kernel]).stream([HumanMessage("write it")]))
    pieces = [c.additional_kwargs.get("reasoning_content") for c in chunks]
    assert sum(1 for p in pieces if p) > 1  # reasoning really arrived in several deltas
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert_full_reply(total)


def test_newer_reasoning_field_and_api_key(no_keys):
    turn = {"content": "done", "reasoning": "short thought", "reasoning_field": "reasoning"}
    with OpenAIStub([turn, turn]) as stub:
        model = load_chat_model("openai:stub-model", base_url=stub.base_url, api_key="gateway-secret")
        plain = model.invoke("hi")
        streamed = load_chat_model(
            "openai:stub-model", base_url=stub.base_url, api_key="gateway-secret", streaming=True
        ).invoke("hi")
    assert reasoning_text(plain) == reasoning_text(streamed) == "short thought"
    assert stub.authorizations == ["Bearer gateway-secret"] * 2


def test_reasoning_is_not_sent_back_and_history_round_trips(no_keys):
    with OpenAIStub([TURN, {"content": "second"}]) as stub:
        model = load_chat_model("openai:stub-model", base_url=stub.base_url).bind_tools([write_kernel])
        first = model.invoke([HumanMessage("write it")])
        call = first.tool_calls[0]
        second = model.invoke([HumanMessage("write it"), first, ToolMessage("ok", tool_call_id=call["id"])])
    assert second.content == "second"
    assistant = stub.requests[1]["messages"][1]
    assert assistant["tool_calls"][0]["id"] == call["id"]
    assert "reasoning_content" not in assistant


def test_malformed_tool_call_becomes_invalid_tool_call(no_keys):
    with OpenAIStub([{"malformed_tool_call": True}, {"malformed_tool_call": True}]) as stub:
        plain = load_chat_model("openai:stub-model", base_url=stub.base_url).invoke("hi")
        streamed = load_chat_model("openai:stub-model", base_url=stub.base_url, streaming=True).invoke("hi")
    for reply in (plain, streamed):
        assert reply.tool_calls == []
        assert len(reply.invalid_tool_calls) == 1
        assert reply.invalid_tool_calls[0]["name"] == "write_kernel"


def test_callable_script_and_usage_absent(no_keys):
    def script(body):
        return {"content": f"echo {body['messages'][-1]['content']}", "usage": None}

    with OpenAIStub(script) as stub:
        reply = load_chat_model("openai:stub-model", base_url=stub.base_url).invoke("ping")
    assert reply.content == "echo ping"
    assert usage_of(reply) == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    assert reasoning_text(reply) == ""


def test_stub_lists_models():
    import json
    import urllib.request

    with OpenAIStub([]) as stub:
        with urllib.request.urlopen(f"{stub.base_url}/models") as response:
            listing = json.load(response)
    assert listing["data"][0]["id"] == "stub-model"


def test_unknown_provider(no_keys):
    with pytest.raises(BackendError, match="Unknown model backend 'xyz'.*openai"):
        load_chat_model("xyz:some-model")


def test_spec_without_colon(no_keys):
    with pytest.raises(BackendError, match="provider:model"):
        load_chat_model("gpt-4o")


def test_missing_key_without_base_url(no_keys):
    with pytest.raises(BackendError, match="No API key for openai.*LLM_GATEWAY_KEY.*OPENAI_API_KEY"):
        load_chat_model("openai:gpt-4o")


def test_key_from_provider_env(no_keys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    model = load_chat_model("openai:gpt-4o")
    assert model.openai_api_key.get_secret_value() == "sk-env"
    assert model.max_retries == 0 and model.stream_usage is True and model.use_responses_api is False


def test_missing_provider_package(no_keys):
    with pytest.raises(BackendError, match="pip install langchain-anthropic"):
        load_chat_model("anthropic:claude-sonnet-4-5", api_key="k")


def test_ollama_style_model_name_is_split_once(no_keys):
    with pytest.raises(BackendError, match="pip install langchain-ollama"):
        load_chat_model("ollama:qwen3:8b")


def test_module_factory(no_keys):
    model = load_chat_model(f"{__name__}:make_scripted_model", temperature=0.5, api_key="ignored")
    assert isinstance(model, ScriptedChatModel)
    assert model.invoke("hi").content == "scripted t=0.5"


def test_module_factory_returning_non_model(no_keys):
    with pytest.raises(BackendError, match="not a langchain chat model"):
        load_chat_model(f"{__name__}:make_not_a_model")


def test_module_without_factory(no_keys):
    with pytest.raises(BackendError, match="no callable 'nope'"):
        load_chat_model(f"{__name__}:nope")


def test_reasoning_text_anthropic_thinking_block():
    message = AIMessage(
        content=[
            {"type": "thinking", "thinking": "Let me check the strides.", "signature": "sig"},
            {"type": "text", "text": "Here is the kernel."},
        ]
    )
    assert reasoning_text(message) == "Let me check the strides."


def test_reasoning_text_sources():
    assert reasoning_text(AIMessage(content="x", additional_kwargs={"reasoning_content": "rc"})) == "rc"
    responses = AIMessage(
        content=[
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "S1"}, {"type": "summary_text", "text": "S2"}],
            },
            {"type": "text", "text": "answer"},
        ]
    )
    assert reasoning_text(responses) == "S1\nS2"
    standard = AIMessage(content=[{"type": "reasoning", "reasoning": "std"}, {"type": "text", "text": "a"}])
    assert reasoning_text(standard) == "std"
    assert reasoning_text(AIMessage(content="plain")) == ""


def test_scripted_model_threads_and_tools():
    import threading

    model = ScriptedChatModel([AIMessage(content=str(i)) for i in range(20)])
    assert model.bind_tools([write_kernel]) is model
    assert model.bound_tools == ["write_kernel"]
    replies: list[str] = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            text = model.invoke("go").content
            with lock:
                replies.append(text)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(replies, key=int) == [str(i) for i in range(20)]
    with pytest.raises(RuntimeError, match="ran out"):
        model.invoke("one more")


def _one_node_graph(model):
    from langgraph.graph import START, MessagesState, StateGraph

    def call(state: MessagesState):
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("llm", call)
    graph.add_edge(START, "llm")
    return graph.compile()


def test_graph_message_streaming_gets_reasoning_and_usage(no_keys):
    with OpenAIStub([TURN]) as stub:
        model = load_chat_model("openai:stub-model", base_url=stub.base_url).bind_tools([write_kernel])
        streamed = [
            m
            for m, _ in _one_node_graph(model).stream({"messages": [HumanMessage("write it")]}, stream_mode="messages")
        ]
    assert len(streamed) > 3 and stub.requests[0]["stream"] is True
    total = streamed[0]
    for chunk in streamed[1:]:
        total = total + chunk
    assert_full_reply(total)


def test_scripted_model_under_graph_message_streaming():
    reply = AIMessage(
        content="",
        tool_calls=[{"name": "write_kernel", "args": {"path": "a", "source": "b"}, "id": "call_1"}],
        additional_kwargs={"reasoning_content": "why"},
    )
    model = ScriptedChatModel([reply])
    streamed = [m for m, _ in _one_node_graph(model).stream({"messages": [HumanMessage("go")]}, stream_mode="messages")]
    assert len(streamed) == 1
    assert streamed[0].tool_calls[0]["name"] == "write_kernel"
    assert reasoning_text(streamed[0]) == "why"
