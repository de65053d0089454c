"""model (LLM with the tools bound) -> tools (run in order) -> judge -> model or END. The judge also
answers a reply that called no tool while the thread has work left (graphs.budget)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from graphs.budget import Budget
from graphs.llm import usage_of
from graphs.llm_retry import RetryPolicy, invoke_with_retry
from graphs.prompting import compile_only_pushback_prompt, pushback_prompt
from graphs.state import KernelState
from tools import registry


@dataclass
class ThreadContext:
    llm: BaseChatModel
    workbench: registry.Workbench
    budget: Budget
    retry: RetryPolicy | None = None  # None: a failed LLM request fails the thread at once


def _bound(ctx: ThreadContext):
    # parallel_tool_calls=False where the backend knows it: write-then-compile must run in order anyway.
    try:
        return ctx.llm.bind_tools(registry.tool_schemas(), parallel_tool_calls=False)
    except TypeError:
        return ctx.llm.bind_tools(registry.tool_schemas())


def model_node(state: KernelState, runtime: Runtime[ThreadContext]) -> dict:
    ctx = runtime.context
    ai = invoke_with_retry(_bound(ctx), state.messages, ctx.retry or RetryPolicy(retries=0, patience_s=0))
    plain = 0 if (ai.tool_calls or ai.invalid_tool_calls) else state.plain_replies + 1
    return {
        "messages": [ai],
        "turns": state.turns + 1,
        "tokens": state.tokens + usage_of(ai)["total_tokens"],
        "plain_replies": plain,
    }


def tools_node(state: KernelState, runtime: Runtime[ThreadContext]) -> dict:
    """Tool calls run one after another, each seeing the state the previous one left."""
    ai: AIMessage = state.messages[-1]
    view = state
    updates: dict = {}
    out = []
    for tc in ai.tool_calls:
        reply = registry.call(runtime.context.workbench, view, tc["name"], tc.get("args") or {})
        view = view.model_copy(update=reply.updates)
        updates.update(reply.updates)
        out.append(
            ToolMessage(
                content=reply.text,
                tool_call_id=tc["id"],
                name=tc["name"],
                artifact=reply.artifact,
                status="error" if reply.text.startswith("ERROR") else "success",
            )
        )
    for bad in ai.invalid_tool_calls:
        out.append(
            ToolMessage(
                content=f"ERROR: the call to {bad.get('name')} could not be parsed "
                f"({bad.get('error') or 'arguments are not valid JSON'}); send it again with "
                f"JSON arguments.",
                tool_call_id=bad.get("id") or "invalid",
                name=bad.get("name"),
                status="error",
            )
        )
    return updates | {"messages": out}


def judge_node(state: KernelState, runtime: Runtime[ThreadContext]) -> dict:
    """End the thread for a reason in the budget, or answer a reply that called no tool: below the
    goal with attempts left, it is told what is left and asked for the next kernel or `finish`."""
    budget, compile_only = runtime.context.budget, runtime.context.workbench.compile_only
    last = state.messages[-1]
    model_done = isinstance(last, AIMessage) and not last.tool_calls and not last.invalid_tool_calls
    reason = budget.verdict(state, model_done, compile_only)
    if reason:
        return {"ended": reason}
    return {"messages": [HumanMessage(_pushback(state, budget, compile_only))]} if model_done else {}


def _pushback(state: KernelState, budget: Budget, compile_only: bool = False) -> str:
    if compile_only:
        return compile_only_pushback_prompt()  # nothing has built yet (a built kernel ends the thread)
    best = state.best
    if best is None or best.speedup is None:
        shown, bottleneck = "none correct and timed yet", ""
    else:
        shown = f"candidate {best.n} at {best.speedup:.3f}x"
        bottleneck = (
            f" It is {best.bound}-bound, at {best.sol_pct:.0f}% of this device's speed-of-light floor."
            if best.sol_pct is not None and best.bound
            else ""
        )
        if best.bottleneck:
            bottleneck += f" Its counters say: {best.bottleneck}"
    return pushback_prompt(budget.attempts_left(state), budget.goal_text(), shown, bottleneck)


def after_model(state: KernelState) -> str:
    last = state.messages[-1]
    return "tools" if (last.tool_calls or last.invalid_tool_calls) else "judge"


def after_judge(state: KernelState) -> str:
    return END if state.ended else "model"


def _with_context(node: Callable, provide: Callable[[], ThreadContext]) -> Callable:
    """The node, run with the context `provide()` gives instead of the one passed to invoke."""

    def run(state: KernelState, runtime: Runtime) -> dict:
        return node(state, runtime.override(context=provide()))

    run.__name__ = node.__name__
    return run


def build_graph(
    checkpointer=None,
    *,
    context: Callable[[], ThreadContext] | None = None,
    setup: Callable[[KernelState, Runtime[ThreadContext]], dict] | None = None,
):
    """The thread's graph. The runner passes each thread's ThreadContext to invoke/stream. A server
    that cannot (LangGraph Studio: its context is JSON) gives `context`, called when a node runs, and
    `setup`, a first node that writes the opening messages of a thread that has none."""
    nodes = {"model": model_node, "tools": tools_node, "judge": judge_node} | ({"setup": setup} if setup else {})
    if context is not None:
        nodes = {name: _with_context(node, context) for name, node in nodes.items()}
    g = StateGraph(KernelState, context_schema=None if context is not None else ThreadContext)
    for name, node in nodes.items():
        g.add_node(name, node)
    if setup:
        g.add_edge(START, "setup")
        g.add_edge("setup", "model")
    else:
        g.add_edge(START, "model")
    g.add_conditional_edges("model", after_model, ["tools", "judge"])
    g.add_edge("tools", "judge")
    g.add_conditional_edges("judge", after_judge, ["model", END])
    return g.compile(checkpointer=checkpointer)
