"""The tool that times and profiles the current candidate."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.registry import CandidateState, Reply, Workbench, tool
from tools.workbench import evaluate


class ProfileKernelArgs(BaseModel):
    counters: bool = Field(False, description="true to add the hardware counters of your kernels (default false).")


@tool(
    position=5, args=ProfileKernelArgs, summary="time the candidate against the reference and see where the time goes."
)
def profile_kernel(wb: Workbench, state: CandidateState, args: ProfileKernelArgs) -> Reply:
    """Build and check the current candidate if needed, then time it against the reference (median of
    interleaved runs, cold cache) and profile it. Returns the speedup first, then both times, the kernels
    your forward launched with their share of the time, whether library kernels did the work, and how close
    the kernel is to the device's speed of light. Takes no arguments. With counters=true it also collects
    the vendor profiler's hardware counters for your own kernels (ncu on NVIDIA, rocprofv3 on AMD):
    occupancy, compute and memory throughput against peak, DRAM bytes, L2 hit rate, shared/LDS bank
    conflicts, registers. That takes longer; ask when the time alone does not tell you what limits the
    kernel."""
    return evaluate(wb, state, "profile", counters=args.counters)
