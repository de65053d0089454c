"""The tools the model can call. Each is declared once, in its own module of this package, with the
`tool` decorator: its name, the schema of its arguments (a pydantic model whose field descriptions
the model reads), its description (the function's docstring), a one-line summary for the system
prompt's list, and the function itself. The graph, the prompts and the trace viewer read them here;
adding a tool is adding its module."""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tools.workbench import Attempt, Best, CandidateState, Reply, Workbench

__all__ = [
    "Attempt",
    "Best",
    "CandidateState",
    "NoArgs",
    "Reply",
    "Tool",
    "Workbench",
    "all_tools",
    "call",
    "code_args",
    "tool",
    "tool_list_text",
    "tool_schemas",
]


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class Tool:
    name: str
    position: int  # where it stands in the system prompt's list
    summary: str  # that list's line
    description: str  # what the model reads in the tool's schema
    args: type[BaseModel]
    run: Callable[[Workbench, CandidateState, Any], Reply]


_DECLARED: dict[str, Tool] = {}


def tool(position: int, summary: str, args: type[BaseModel] = NoArgs):
    """Declare `fn(wb, state, args) -> Reply` as a tool named after it, described by its docstring."""

    def declare(fn):
        _DECLARED[fn.__name__] = Tool(
            name=fn.__name__,
            position=position,
            summary=summary,
            description=inspect.cleandoc(fn.__doc__ or ""),
            args=args,
            run=fn,
        )
        return fn

    return declare


@functools.cache
def all_tools() -> dict[str, Tool]:
    """Every tool module of this package imported, the tools in their prompt order."""
    import tools

    for info in pkgutil.iter_modules(tools.__path__):
        if not info.ispkg:
            importlib.import_module(f"tools.{info.name}")
    return dict(sorted(_DECLARED.items(), key=lambda kv: kv[1].position))


@functools.cache
def tool_schemas() -> tuple:
    """LangChain StructuredTools carrying each schema, for bind_tools; the graph's tools node calls
    the tools through `call`, so these are never invoked."""
    from langchain_core.tools import StructuredTool

    def unreachable(**_):
        raise RuntimeError("kernel tools run through the graph's tools node")

    return tuple(
        StructuredTool.from_function(func=unreachable, name=t.name, description=t.description, args_schema=t.args)
        for t in all_tools().values()
    )


def call(wb: Workbench, state: CandidateState, name: str, raw: dict) -> Reply:
    """Run one tool call from the model; a wrong name or bad arguments get an ERROR reply, not a crash."""
    found = all_tools().get(name)
    if found is None:
        return Reply(f"ERROR: there is no tool '{name}'; the tools are {', '.join(all_tools())}.")
    try:
        args = found.args.model_validate(raw or {})
    except ValidationError as e:
        return Reply(_argument_error(found, e))
    return found.run(wb, state, args)


def _argument_error(t: Tool, e: ValidationError) -> str:
    err = e.errors()[0]
    field = ".".join(str(x) for x in err.get("loc", ())) or "arguments"
    if err.get("type") in ("missing", "string_too_short"):
        about = t.args.model_fields[field].description if field in t.args.model_fields else ""
        return f"ERROR: {t.name} needs a '{field}' argument" + (f": {about}" if about else ".")
    return f"ERROR: {t.name}'s '{field}' argument is invalid: {err.get('msg')}."


def code_args(name: str) -> set[str]:
    """The arguments of a tool that hold source code (shown as code in traces)."""
    found = all_tools().get(name)
    if found is None:
        return set()
    return {k for k, f in found.args.model_fields.items() if (f.json_schema_extra or {}).get("code")}


def tool_list_text() -> str:
    """The numbered list of tools for the system prompt."""
    lines = []
    for i, t in enumerate(all_tools().values(), 1):
        params = ", ".join(k for k, f in t.args.model_fields.items() if f.is_required())
        lines.append(f"{i}. `{t.name}{f'({params})' if params else ''}` - {t.summary}")
    return "\n".join(lines)
