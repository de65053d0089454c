"""The tools as the LLM sees them: names fixed by the design, descriptions from prompts/tools.json."""
from __future__ import annotations

import functools

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field, create_model

from graphs.prompting import tool_arg_description, tool_description

NAMES = ("read_reference", "write_kernel", "compile_kernel", "check_correctness", "profile_kernel")


def _args_model(name: str) -> type[BaseModel]:
    if name == "write_kernel":
        return create_model("WriteKernelArgs", source=(str, Field(description=tool_arg_description(name, "source"))))
    if name == "profile_kernel":
        return create_model("ProfileKernelArgs",
                            counters=(bool, Field(False, description=tool_arg_description(name, "counters"))))
    return create_model(f"{name.title().replace('_', '')}Args")


@functools.cache
def tool_specs() -> tuple[StructuredTool, ...]:
    """StructuredTools carrying the schema; the graph's tools node runs the real functions in
    tools.kernel_tools in order, so these are never invoked directly."""
    def unreachable(**_):
        raise RuntimeError("kernel tools run through the graph's tools node")

    return tuple(StructuredTool.from_function(func=unreachable, name=n, description=tool_description(n),
                                              args_schema=_args_model(n)) for n in NAMES)
