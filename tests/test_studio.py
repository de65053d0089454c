"""langgraph.json: each graph it names loads as `langgraph dev` loads it (a file path and an attribute),
builds with no configuration (Studio draws it first), and runs a problem end to end with the scripted
model on the cpu platform when the configuration names one."""

import importlib.util
import json

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from tests.conftest import DATA, ROOT
from tools.errors import ConfigError


def load_graph_factories() -> dict:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["dependencies"] == ["."]
    found = {}
    for graph_id, spec in config["graphs"].items():
        path, _, attr = spec.rpartition(":")
        modspec = importlib.util.spec_from_file_location(f"studio_{graph_id}", ROOT / path)
        module = importlib.util.module_from_spec(modspec)
        modspec.loader.exec_module(module)
        found[graph_id] = getattr(module, attr)
    return found


@pytest.fixture
def studio():
    from agent import studio

    yield studio
    for ctx in studio._contexts.values():
        ctx.workbench.evaluator.close()
    studio._contexts.clear()


def test_every_graph_in_langgraph_json_builds_without_configuration():
    factories = load_graph_factories()
    assert list(factories) == ["kernel"]
    graph = factories["kernel"]({"configurable": {}})
    drawn = graph.get_graph()
    assert set(drawn.nodes) == {"__start__", "setup", "model", "tools", "judge", "__end__"}
    assert ("__start__", "setup") in {(e.source, e.target) for e in drawn.edges}
    assert "setup" in drawn.draw_mermaid()


def test_a_run_without_a_problem_says_what_to_set(studio):
    graph = studio.make_graph({"configurable": {"model": "tests.scripted_solver:factory"}})
    with pytest.raises(ConfigError, match="Set `problem` in the assistant's configuration"):
        graph.invoke({"messages": []})


def test_the_studio_graph_solves_the_configured_problem(studio, tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("HIPGEN_SCRIPT", json.dumps({"1_Small_ReLU": ["cpu/good/relu.py"]}))
    configurable = {
        "problem": "1/1",
        "dataset": str(DATA),
        "model": "tests.scripted_solver:factory",
        "target": 0.05,
        "cache_dir": str(cache_dir),
        "out": str(tmp_path / "out"),
        "thread_id": "t1",  # LangGraph's own keys are not settings
    }
    graph = studio.make_graph({"configurable": configurable})
    final = graph.invoke({"messages": [HumanMessage("a hint from the user")]}, {"configurable": configurable})
    messages = final["messages"]
    assert isinstance(messages[0], SystemMessage) and "Platform: **cpu**" in messages[0].content
    assert "1_Small_ReLU" in messages[1].content and messages[2].content == "a hint from the user"
    assert final["ended"] == "target_reached" and final["problem"] == "1_Small_ReLU"
    saved = json.loads((tmp_path / "out" / "1_Small_ReLU" / "result_0.json").read_text())
    assert saved["correct"] and saved["sample"] == 0 and saved["speedup"] == final["best"].speedup
