"""Per-kernel registers, LDS, scratch, spills and occupancy from clang's kernel-resource-usage remarks
(`-Rpass-analysis=kernel-resource-usage`), told in the rocprofv3 digest's words: what a build alone can
say about a kernel's occupancy on an AMD GPU, with no GPU."""

from __future__ import annotations

import re

from tools.harness.profilers.rocprof_digest import waves_per_simd_from_registers

MAX_WAVES = 8  # per SIMD on CDNA2/3/4
# remark text -> field
_FIELDS = {
    "TotalSGPRs": "sgpr",
    "VGPRs": "vgpr",
    "AGPRs": "agpr",
    "ScratchSize [bytes/lane]": "scratch_bytes",
    "Occupancy [waves/SIMD]": "occupancy_waves",
    "SGPRs Spill": "sgpr_spill",
    "VGPRs Spill": "vgpr_spill",
    "LDS Size [bytes/block]": "lds_bytes",
}
_REMARK_RE = re.compile(r"remark:\s+(Function Name|[A-Za-z][A-Za-z /\[\]]*?):\s*(\S+)\s*\[-Rpass-analysis")


def demangle(name: str) -> str:
    """`_Z16linear_bf16_mfmaPKtS0_Ptlll` -> `linear_bf16_mfma` (plain functions; others stay mangled)."""
    m = re.match(r"_Z(\d+)", name)
    if m and len(name) >= m.end() + int(m.group(1)):
        return name[m.end() : m.end() + int(m.group(1))]
    return name


def parse_resource_remarks(output: str) -> list[dict]:
    """One dict per kernel, in the order clang reports them."""
    kernels: list[dict] = []
    for key, value in _REMARK_RE.findall(output):
        if key == "Function Name":
            kernels.append({"name": demangle(value), "symbol": value})
        elif kernels and key in _FIELDS and value.isdigit():
            kernels[-1][_FIELDS[key]] = int(value)
    return kernels


def occupancy_limit(k: dict) -> str:
    """What keeps the kernel below the maximum waves per SIMD, as the bottleneck digest says it."""
    waves = k.get("occupancy_waves")
    if waves is None:
        return "not reported"
    if waves >= MAX_WAVES:
        return "none"
    by_registers = waves_per_simd_from_registers(k.get("vgpr"), k.get("agpr"))
    if by_registers is not None and by_registers <= waves:
        return f"registers ({k.get('vgpr')} VGPRs + {k.get('agpr', 0)} AGPRs allow {by_registers} waves per SIMD)"
    if k.get("lds_bytes"):
        return f"LDS ({k['lds_bytes'] // 1024} KB per workgroup)"
    return "workgroup size or SGPRs"


def resource_text(kernels: list[dict], arch: str) -> str:
    """One line per kernel: registers, LDS, scratch and spills, and the occupancy they allow."""
    if not kernels:
        return ""
    lines = [f"compile-time resources for {arch} (clang; no GPU run):"]
    for k in kernels:
        spills = k.get("vgpr_spill", 0) + k.get("sgpr_spill", 0)
        scratch = k.get("scratch_bytes")
        parts = [
            f"registers VGPR {k.get('vgpr', '?')} / AGPR {k.get('agpr', '?')} / SGPR {k.get('sgpr', '?')}",
            f"LDS {k.get('lds_bytes', '?')} B",
            f"scratch {scratch if scratch is not None else '?'} B",
            f"spills {spills}" + (" (registers spill to scratch memory)" if spills else ""),
            f"occupancy {k.get('occupancy_waves', '?')} waves/SIMD of {MAX_WAVES} (limit: {occupancy_limit(k)})",
        ]
        lines.append(f"- {k['name']}: " + ", ".join(parts))
    return "\n".join(lines)
