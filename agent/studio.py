"""LangGraph Studio and `langgraph dev` (see langgraph.json): the agent's graph for one problem, built
from the run's configuration.

The server calls `make_graph(config)` for every run and every look at the graph. The thread's
configuration (`configurable`, set on the assistant in Studio) names the problem (`problem`: LEVEL/ID
such as 1/19, or a problem file, as `agent eval --problem` takes it) and may set `sample` (0), `out`
(where candidates are saved, default studio-results/) and any setting by its name (`model`, `dataset`,
`platform`, `max_attempts`, `target`, ...); what it leaves out comes from the environment, the config
file and the defaults as for `agent solve`, except that the platform defaults to cpu. Nothing is built
until a node runs: the model, the evaluator and the problem are made then, once per configuration, so
Studio can draw the graph with no key or dataset at hand. The first node, setup, writes the system
prompt and the task ahead of whatever the user sent."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from langchain_core.messages import RemoveMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.runtime import Runtime

from agent.dataset import resolve_problem
from agent.runner import first_messages, make_evaluator, thread_context
from agent.settings import Settings
from agent.store import RunStore
from graphs.budget import Budget
from graphs.kernel_graph import ThreadContext, build_graph
from graphs.llm import LLMConfig
from graphs.state import KernelState
from tools.errors import ConfigError

DEFAULT_OUT = Path("studio-results")
DEFAULT_PLATFORM = "cpu"
OWN_KEYS = ("problem", "sample", "out")  # read here; every other known key is a setting

_contexts: dict[str, ThreadContext] = {}
_lock = threading.Lock()


def studio_options(configurable: dict) -> dict:
    """The keys of a configuration that shape a thread: ours and the settings', nothing LangGraph adds."""
    return {k: v for k, v in configurable.items() if k in OWN_KEYS or (k in Settings.model_fields and k != "resume")}


def sample_of(options: dict) -> int:
    try:
        return int(options.get("sample", 0))
    except (TypeError, ValueError):
        raise ConfigError(
            f"Bad sample '{options.get('sample')}' in the configuration: give a number such as 0."
        ) from None


def thread_for(options: dict) -> ThreadContext:
    """The thread's model, evaluator and problem, made once per configuration."""
    key = json.dumps(options, sort_keys=True, default=str)
    with _lock:
        if key not in _contexts:
            _contexts[key] = _make_context(options)
        return _contexts[key]


def _make_context(options: dict) -> ThreadContext:
    if not options.get("problem"):
        raise ConfigError(
            "Set `problem` in the assistant's configuration: LEVEL/ID such as 1/19 (with `dataset`), or a problem file."
        )
    s = Settings(**{k: v for k, v in options.items() if k not in OWN_KEYS})
    platform = s.platform or DEFAULT_PLATFORM
    problem = resolve_problem(str(options["problem"]), s.dataset)
    sample = sample_of(options)
    store = RunStore(Path(options.get("out") or DEFAULT_OUT), s.target).problem(problem.name)
    evaluator = make_evaluator(s, platform)
    llm = s.section(LLMConfig).chat_model()
    record = lambda source, result, note: store.record(sample, source, result, note)
    return thread_context(s, evaluator, llm, s.section(Budget), problem, record)


def opening(sample: int):
    """The setup node: a thread with no system prompt yet gets it and the task, before what the user sent."""

    def setup(state: KernelState, runtime: Runtime[ThreadContext]) -> dict:
        if any(isinstance(m, SystemMessage) for m in state.messages):
            return {}
        ctx = runtime.context
        problem = ctx.workbench.problem
        first = first_messages(ctx.workbench.evaluator, ctx.budget, problem, sample)
        return {
            "messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES), *first, *state.messages],
            "problem": problem.name,
            "sample": sample,
            "started_at": time.time(),
        }

    return setup


def make_graph(config: RunnableConfig):
    """The graph factory langgraph.json names: setup -> model -> tools -> judge, for the configured problem."""
    options = studio_options(dict((config or {}).get("configurable") or {}))
    sample = sample_of(options)
    return build_graph(context=lambda: thread_for(options), setup=opening(sample))
