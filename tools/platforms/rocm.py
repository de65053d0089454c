"""The rocm platform: HIP C++ through hipcc. torch keeps the torch.cuda API on ROCm, so the device
side is the cuda platform's; building, arch selection, device visibility and the cache flush differ.
rocprofv3 profiling is not here yet (torch.profiler serves meanwhile)."""
from __future__ import annotations

import os
import shutil

from tools.errors import PlatformError
from tools.platforms.cuda import CudaPlatform

DEFAULT_ARCH = "gfx950"


class RocmPlatform(CudaPlatform):
    name = "rocm"
    language = "HIP C++"
    # The Infinity Cache (256 MB) sits behind L2: flush twice its size.
    flush_min_bytes = 512 << 20

    def check_available(self) -> None:
        import torch

        if not getattr(torch.version, "hip", None):
            raise PlatformError("This torch build has no ROCm support: install a ROCm build of torch, or use --platform cpu.")
        if torch.cuda.device_count() == 0:
            raise PlatformError("No AMD GPU is visible: check the ROCm driver and HIP_VISIBLE_DEVICES, or use --platform cpu.")
        self._check_compiler()

    def _check_compiler(self) -> None:
        from torch.utils.cpp_extension import ROCM_HOME

        hipcc = os.path.join(ROCM_HOME, "bin", "hipcc") if ROCM_HOME else shutil.which("hipcc")
        if not hipcc or not os.path.exists(hipcc):
            raise PlatformError("hipcc was not found: install ROCm or set ROCM_HOME to it.")

    def build_env(self, arch: str | None) -> dict[str, str]:
        # An unset arch makes torch compile for every target the wheel knows: minutes per candidate.
        return {"PYTORCH_ROCM_ARCH": (arch or DEFAULT_ARCH).split(":")[0]}

    def visible_devices_env(self, index: int | None) -> dict[str, str]:
        return {} if index is None else {"HIP_VISIBLE_DEVICES": str(index)}

    def describe(self) -> dict:
        info = super().describe()
        import torch

        info["arch"] = getattr(torch.cuda.get_device_properties(0), "gcnArchName", "").split(":")[0]
        info["hip"] = torch.version.hip
        return info
