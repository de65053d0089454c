"""One Settings model. Resolution order: command-line flags > environment > config file > defaults.
The seed's environment names keep working (NUM_SAMPLES, MAX_ATTEMPTS, PYTORCH_ROCM_ARCH,
DATASET_BASE, LLM_GATEWAY_KEY)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

CONFIG_ENV = "HIPGEN_CONFIG"


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", populate_by_name=True, env_prefix="HIPGEN_")

    level: int = Field(1, ge=1, le=4)
    range: str | None = Field(None, description="problem ids, e.g. 1-10 or 3,5,7-9")
    problem: str | None = Field(None, description="problem name substring")
    dataset: Path | None = Field(None, validation_alias="DATASET_BASE")
    model: str = Field("openai:gpt-4.1", validation_alias="LLM_MODEL")
    base_url: str | None = Field(None, validation_alias="LLM_BASE_URL")
    api_key: SecretStr | None = Field(None, validation_alias="LLM_GATEWAY_KEY")
    temperature: float | None = Field(None, validation_alias="LLM_TEMPERATURE")
    samples: int = Field(3, ge=1, validation_alias="NUM_SAMPLES")
    max_attempts: int = Field(3, ge=1, validation_alias="MAX_ATTEMPTS")
    target: float = Field(1.0, gt=0)
    platform: str | None = None
    arch: str | None = None
    rocm_arch: str | None = Field(None, validation_alias="PYTORCH_ROCM_ARCH")
    out: Path = Path("results")
    resume: bool = False
    concurrency: int | None = Field(None, ge=1, description="threads at once; default: samples")
    max_turns: int = Field(40, ge=1)
    max_tokens: int = Field(2_000_000, ge=1)
    max_seconds: float = Field(3 * 3600.0, gt=0)
    check_trials: int = Field(5, ge=1)
    time_budget_s: float = Field(1.0, gt=0)
    cache_dir: Path = Field(Path.home() / ".cache" / "hipgenerator", validation_alias="HIPGEN_CACHE_DIR")
    streaming: bool = False
    llm_timeout: float = Field(600.0, gt=0, description="seconds one LLM request may take before it is retried")
    llm_retries: int = Field(8, ge=0, description="retries of one LLM request (429, 5xx, timeouts, dropped connections)")
    llm_patience_s: float = Field(1800.0, gt=0, description="longest a thread waits for an LLM provider that stays down")
    gpus: str | None = Field(None, description="device indices for evaluation lanes, e.g. 0,1 (default: all visible)")
    spares: int | None = Field(None, ge=1, description="worker processes kept imported ahead of need on a GPU "
                               "(default: one per thread, at most one per CPU core)")
    max_run_tokens: int | None = Field(None, ge=1, description="stop asking the LLM once the whole run has used this many tokens")
    max_cost: float | None = Field(None, gt=0, description="stop asking the LLM once the run's cost reaches this many USD")
    price_input: float | None = Field(None, ge=0, description="USD per million input tokens (default: agent/prices.json)")
    price_output: float | None = Field(None, ge=0, description="USD per million output tokens (default: agent/prices.json)")
    progress: bool = Field(True, description="live progress display on a terminal")

    @field_validator("dataset", "base_url", "api_key", "arch", "rocm_arch", "platform", mode="before")
    @classmethod
    def _empty_is_unset(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("gpus")
    @classmethod
    def _gpu_list(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = [p.strip() for p in str(v).split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
            raise ValueError(f"--gpus takes distinct device indices separated by commas, such as 0,1 (got '{v}')")
        return ",".join(parts)

    def threads(self) -> int:
        return self.concurrency or self.samples

    def spare_workers(self) -> int:
        """Each thread waits on at most one evaluation at a time, so one spare per thread means none waits
        for a worker's imports unless threads ask faster than a spare imports (on 2 x H200, 8 x 2 with 12
        threads: mean wait 4.3 s with 3 spares started at the first evaluation, 1.7 s with 12 started with
        the run). Each costs about 0.6 GiB of host memory, and a core while it imports."""
        return self.spares or min(self.threads(), usable_cores())

    def gpu_indices(self) -> list[int] | None:
        return [int(p) for p in self.gpus.split(",")] if self.gpus else None

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, v: str | None) -> str | None:
        if v is not None and v not in ("rocm", "cuda", "cpu"):
            raise ValueError(f"unknown platform '{v}': use rocm, cuda or cpu")
        return v

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get(CONFIG_ENV)
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)

    def resolved_arch(self, platform: str) -> str | None:
        """--arch wins; PYTORCH_ROCM_ARCH speaks for the rocm platform only."""
        return self.arch or (self.rocm_arch if platform == "rocm" else None)

    def public(self) -> dict[str, Any]:
        """What is saved with a run: everything but secrets."""
        data = self.model_dump(mode="json")
        data["api_key"] = "***" if self.api_key else None
        return data
