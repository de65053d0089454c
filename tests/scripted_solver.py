"""A scripted 'LLM' that solves problems with fixture kernels, for end-to-end runs of `agent solve`
without a model: `--model tests.scripted_solver:factory`. Which fixtures it writes for which problem
comes from HIPGEN_SCRIPT (JSON: {"problem-name-substring": ["cpu/bad/x.py", "cpu/good/y.py"]}, paths
under tests/kernels), tried in order until one is correct; then it profiles it and calls `finish` (the thread has already
ended if it reached the target). In a compile-only run (the system prompt says so) it calls `finish` as soon as a
kernel builds, quoting the compiler's register line.

With HIPGEN_SCRIPT_VARY=1 each sample writes its own variant of every fixture: a Python-side
`BLOCK = <n>` line gets a block size chosen by the sample number (0: 256, 1: 128, 2: 512, 3: 1024,
4: 64, ...), so the variants share one native build; a fixture without such a line gets a trailing
`# sample N` comment instead. The sample number is read from the task message ("sample N")."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from tests.scripted_model import ScriptedChatModel

KERNELS = Path(__file__).parent / "kernels"
VARY_BLOCKS = (256, 128, 512, 1024, 64, 32)
_BLOCK_LINE = re.compile(r"^BLOCK = \d+[ \t]*$", re.MULTILINE)
_SAMPLE = re.compile(r"\bsample (\d+)\b")


def _plan(messages) -> list[str]:
    task = next((m.content for m in messages if isinstance(m, HumanMessage)), "")
    plan = json.loads(os.environ.get("HIPGEN_SCRIPT", "{}"))
    for key, files in plan.items():
        if key in task:
            return files
    raise RuntimeError(f"HIPGEN_SCRIPT has no entry for this task: {task[:80]}")


def _sample(messages) -> int:
    task = next((m.content for m in messages if isinstance(m, HumanMessage)), "")
    m = _SAMPLE.search(task)
    if m is None:
        raise RuntimeError(f"HIPGEN_SCRIPT_VARY is set but the task names no sample: {task[:80]}")
    return int(m.group(1))


def vary(source: str, sample: int) -> str:
    """The sample's variant of a fixture: its `BLOCK = <n>` line set to the sample's block size, or a
    trailing `# sample N` comment where there is no such line. Past the list of block sizes, the
    comment is added as well, so that every sample's source stays distinct."""
    if _BLOCK_LINE.search(source):
        out = _BLOCK_LINE.sub(f"BLOCK = {VARY_BLOCKS[sample % len(VARY_BLOCKS)]}", source, count=1)
        if sample < len(VARY_BLOCKS):
            return out
        source = out
    return source.rstrip("\n") + f"\n# sample {sample}\n"


def _call(name: str, n: int, **args) -> dict:
    return {"name": name, "args": args, "id": f"{name}_{n}", "type": "tool_call"}


def _say(text: str, reasoning: str, calls: list[dict], step: int) -> AIMessage:
    return AIMessage(
        content=text,
        tool_calls=calls,
        additional_kwargs={"reasoning_content": reasoning},
        usage_metadata={"input_tokens": 1000 + step, "output_tokens": 100 + step, "total_tokens": 1100 + 2 * step},
    )


def policy(messages) -> AIMessage:
    plan = _plan(messages)
    step = sum(isinstance(m, AIMessage) for m in messages)
    written = sum(1 for m in messages if isinstance(m, AIMessage) for c in m.tool_calls if c["name"] == "write_kernel")
    last = messages[-1]

    def write_next(why: str) -> AIMessage:
        if written >= len(plan):
            return _say("", why, [_call("finish", step, reason="I have no other kernel to try.")], step)
        source = (KERNELS / plan[written]).read_text()
        if os.environ.get("HIPGEN_SCRIPT_VARY") == "1":
            source = vary(source, _sample(messages))
        return _say(
            f"Writing {plan[written]}.",
            f"{why} Next I try {plan[written]}.",
            [_call("write_kernel", step, source=source), _call("compile_kernel", step)],
            step,
        )

    if step == 0:
        return _say("", "First I read the reference.", [_call("read_reference", step)], step)
    if not isinstance(last, ToolMessage):
        return _say("", "Nothing left to do.", [_call("finish", step, reason="Nothing left to do.")], step)
    verdict = str(last.content)
    if last.name == "read_reference":
        return write_next("The reference is an elementwise op; a plain loop should do.")
    if last.name in ("write_kernel", "compile_kernel"):
        if verdict.startswith("BUILD OK") and "This run is compile-only" in str(messages[0].content):
            registers = next((ln for ln in verdict.splitlines() if "registers VGPR" in ln), "no register line")
            why = f"It builds and nothing can run here: {registers.lstrip('- ')}"
            return _say("", why, [_call("finish", step, reason=why)], step)
        if verdict.startswith("BUILD OK"):
            return _say("", "It builds; now correctness.", [_call("check_correctness", step)], step)
        return write_next(f"That failed ({verdict.splitlines()[0][:80]}).")
    if last.name == "check_correctness":
        if verdict.startswith("CORRECT"):
            return _say("", "Correct on every trial; now timing.", [_call("profile_kernel", step)], step)
        return write_next(f"Wrong: {verdict.splitlines()[0][:120]}.")
    if last.name == "profile_kernel":
        return _say(
            "",
            f"Profile said: {verdict.splitlines()[0][:100]}",
            [_call("finish", step, reason="The kernel is correct and timed; I stop here.")],
            step,
        )
    if last.name == "finish":
        return _say("Done.", "Finished.", [], step)
    return _say("", "Unexpected tool result.", [_call("finish", step, reason="Unexpected tool result.")], step)


def wire_turn(body: dict) -> dict:
    """The policy's next move for an OpenAI chat-completions request body, as a tests.openai_stub turn."""
    from langchain_core.messages import convert_to_messages

    messages = convert_to_messages(body["messages"])
    names = {c["id"]: c["name"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
    for m in messages:
        if isinstance(m, ToolMessage):
            m.name = names.get(m.tool_call_id, m.name)  # the wire format drops a tool result's name
    reply = policy(messages)
    return {
        "content": reply.content,
        "reasoning": reply.additional_kwargs["reasoning_content"],
        "tool_calls": [{"name": c["name"], "args": c["args"]} for c in reply.tool_calls],
    }


def factory() -> ScriptedChatModel:
    return ScriptedChatModel(policy)
