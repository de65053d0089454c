"""Dense peak rates per device, for the speed-of-light floor. Matched by substring of the device name;
the fp32 entry is the fastest unit that could serve an fp32 problem (TF32 tensor cores on NVIDIA), so
an honest kernel is never below the floor."""

from __future__ import annotations

from pydantic import BaseModel


class Peaks(BaseModel):
    """Dense peak rates of a device: the speed-of-light floor divides work by these."""

    device: str
    bytes_per_s: float
    flops: dict[str, float]  # by dtype name ("float32", "bfloat16", ...): the best any unit reaches

    def flops_for(self, dtype: str) -> float:
        return self.flops.get(dtype) or max(self.flops.values())


T = 1e12
# name substring, HBM bytes/s, {dtype: flop/s}
_TABLE: list[tuple[str, float, dict[str, float]]] = [
    ("H200", 4.8 * T, {"float32": 494.7 * T, "bfloat16": 989.4 * T, "float16": 989.4 * T}),
    ("H100 PCIe", 2.0 * T, {"float32": 378.0 * T, "bfloat16": 756.0 * T, "float16": 756.0 * T}),
    ("H100", 3.35 * T, {"float32": 494.7 * T, "bfloat16": 989.4 * T, "float16": 989.4 * T}),
    ("B200", 8.0 * T, {"float32": 1125.0 * T, "bfloat16": 2250.0 * T, "float16": 2250.0 * T}),
    ("A100", 2.04 * T, {"float32": 156.0 * T, "bfloat16": 312.0 * T, "float16": 312.0 * T}),
    ("L40S", 0.864 * T, {"float32": 183.0 * T, "bfloat16": 366.0 * T, "float16": 366.0 * T}),
    ("MI355X", 8.0 * T, {"float32": 157.3 * T, "bfloat16": 2516.6 * T, "float16": 2516.6 * T}),
    ("MI325X", 6.0 * T, {"float32": 163.4 * T, "bfloat16": 1307.4 * T, "float16": 1307.4 * T}),
    ("MI300X", 5.3 * T, {"float32": 163.4 * T, "bfloat16": 1307.4 * T, "float16": 1307.4 * T}),
]
# ROCm reports gcnArchName rather than a marketing name on some builds.
_ARCH_ALIASES = {"gfx950": "MI355X", "gfx942": "MI300X"}


def peaks_for(device_name: str, arch: str = "") -> Peaks | None:
    for key, bw, flops in _TABLE:
        if key.lower() in device_name.lower():
            return Peaks(device=key, bytes_per_s=bw, flops=flops)
    alias = _ARCH_ALIASES.get(arch.split(":")[0])
    return peaks_for(alias) if alias else None
