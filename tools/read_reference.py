"""The tool that shows the problem."""

from __future__ import annotations

from tools.registry import CandidateState, NoArgs, Reply, Workbench, tool


@tool(
    position=1,
    summary="the reference source, input shapes and dtypes, the device and its peaks, baseline "
    "times, the rules.\n   Call it first.",
)
def read_reference(wb: Workbench, state: CandidateState, args: NoArgs) -> Reply:
    """Show the problem: the reference PyTorch source (class Model, get_inputs, get_init_inputs), the input
    shapes and dtypes, the platform, architecture and device peaks, the reference's baseline times, the
    attempt budget, and the rules your ModelNew must follow. Takes no arguments. Call it first."""
    base = wb.evaluator.baseline(wb.problem)
    dev = base.get("device", {})
    ref, inputs = base.get("reference"), base.get("inputs")
    parts = [
        f"problem {wb.problem.name} (level {wb.problem.level})",
        f"platform {wb.evaluator.platform.name}: {dev.get('device_name', '')} arch {dev.get('arch', '')}",
        f"inputs (from get_inputs): {', '.join(inputs) if inputs is not None else base.get('inputs_missing', 'not computed')}",
        "reference time: "
        + (
            f"{ref['median_ms']:.4g} ms median (eager PyTorch, cold cache)"
            if ref
            else base.get("reference_missing", "not measured")
        ),
        f"attempts: {len(state.evaluated)} used of {wb.max_attempts}; target speedup {wb.target:g}x",
    ]
    if base.get("floor_ms"):
        parts.append(
            f"speed-of-light floor: {base['floor_ms']:.4g} ms ({base['bound']}-bound: "
            f"{base['flops']:.3g} FLOP, {base['min_bytes'] / 1e6:.4g} MB minimum traffic)"
        )
    parts += ["", "reference source:", "```python", wb.problem.source.rstrip(), "```", "", wb.rules]
    return Reply("\n".join(parts), artifact={"baseline": base})
