"""The device an evaluator measures on: described by a subprocess (the agent's process never starts
CUDA or HIP), and the lanes the user asked for checked against what the machine has."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tools.errors import PlatformError


def probe(platform, index: int, env: dict[str, str], cwd: Path) -> dict:
    """The platform's description of device `index`, from a process that sees every device (so the
    count is the machine's)."""
    proc = subprocess.run(
        [sys.executable, "-m", "tools.harness.worker", "--probe", platform.name, str(index)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if proc.returncode != 0:
        hint = " (is that index beyond the GPUs this machine has?)" if "invalid device" in proc.stderr.lower() else ""
        last = proc.stderr.strip().splitlines()[-1][-300:] if proc.stderr.strip() else "no output"
        raise PlatformError(f"Could not query the {platform.name} device {index}{hint}: {last}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def lane_devices(platform, wanted: list[int] | None, count: int) -> list[int | None]:
    """One lane per device: the GPUs asked for, else every visible GPU; None is the default device."""
    if wanted and platform.visible_devices_var is None:
        from tools.platforms import names, platform_class

        gpu = " or ".join(n for n in names() if platform_class(n).visible_devices_var)
        raise PlatformError(
            f"--gpus does not apply to the {platform.name} platform: leave it out, or pick --platform {gpu}."
        )
    beyond = [d for d in wanted or [] if d >= count]
    if beyond:
        raise PlatformError(
            f"--gpus asks for device {beyond[0]}, but this machine shows {count} GPU(s) "
            f"(indices 0-{count - 1}): pick from those."
        )
    if wanted:
        return list(wanted)
    return list(range(count)) if count > 1 else [None]
