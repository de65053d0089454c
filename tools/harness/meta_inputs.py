"""The reference's input shapes and dtypes where no device can hold them: get_inputs() run under torch's
meta device, so nothing is allocated. The problem's module runs in a subprocess (`python -m
tools.harness.meta_inputs PROBLEM OUT`), as the full harness runs it in a worker, never in the agent."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.harness.sandbox import scrubbed_env


def describe(x) -> str:
    """One input as read_reference shows it: `(64, 4096) float32`, or a plain value's repr."""
    import torch

    if isinstance(x, torch.Tensor):
        return f"{tuple(x.shape)} {str(x.dtype).removeprefix('torch.')}"
    return repr(x)


def input_shapes(problem_path: Path, timeout: float = 120.0) -> tuple[list[str] | None, str]:
    """(each input described, "") or (None, why they could not be computed)."""
    with tempfile.TemporaryDirectory(prefix="meta_inputs_") as tmp:
        out = Path(tmp) / "inputs.json"
        cmd = [sys.executable, "-m", "tools.harness.meta_inputs", str(problem_path), str(out)]
        try:
            proc = subprocess.run(
                cmd, env=scrubbed_env({}, Path(tmp)), cwd=tmp, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return None, f"get_inputs() did not return within {timeout:g} s"
        if not out.is_file():
            tail = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            return None, tail[0][-300:]
        data = json.loads(out.read_text())
        return data.get("inputs"), data.get("error", "")


def main(problem_path: str, out: str) -> None:
    import importlib.util

    import torch

    try:
        spec = importlib.util.spec_from_file_location("reference_problem", problem_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with torch.device("meta"):
            data = {"inputs": [describe(x) for x in module.get_inputs()]}
    except Exception as e:  # noqa: BLE001 - the problem's own code; its error is the answer
        data = {"inputs": None, "error": f"get_inputs() on the meta device: {type(e).__name__}: {e}"[:300]}
    Path(out).write_text(json.dumps(data))


if __name__ == "__main__":
    main(*sys.argv[1:3])
