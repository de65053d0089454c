"""One Settings model. Resolution order: command-line flags > environment > config file > defaults.
The seed's environment names keep working (NUM_SAMPLES, MAX_ATTEMPTS, PYTORCH_ROCM_ARCH through the
rocm platform, DATASET_BASE, LLM_GATEWAY_KEY); every other setting is HIPGEN_<NAME>.

Settings is flat for the user (one flag or variable per setting), and made of the sections each part
of the program owns, so every default is written once, where it is used: the thread's Budget
(graphs.budget), the LLM's LLMConfig (graphs.llm), the harness's EvalConfig (tools.harness.config),
and the run's own fields below. `section(Model)` hands a part its own."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, TypeVar, get_origin

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from graphs.budget import Budget
from graphs.llm import LLMConfig
from tools.errors import ConfigError
from tools.harness.config import EvalConfig

CONFIG_ENV = "HIPGEN_CONFIG"
M = TypeVar("M", bound=BaseModel)


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_roots(text: str) -> dict[str, Path]:
    """ "name=path,name=path" as {name: path}."""
    roots = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        name, sep, path = pair.partition("=")
        if not sep or not name.strip() or "/" in name or not path.strip():
            raise ValueError(f"'{pair}' is not NAME=PATH (e.g. cutlass=/opt/cutlass/include)")
        roots[name.strip()] = Path(path.strip()).expanduser()
    return roots


class Settings(BaseSettings, Budget, LLMConfig, EvalConfig):
    model_config = SettingsConfigDict(extra="forbid", populate_by_name=True, env_prefix="HIPGEN_")

    level: int = Field(1, ge=1, le=4)
    range: str | None = Field(None, description="problem ids, e.g. 1-10 or 3,5,7-9")
    problem: str | None = Field(None, description="problem name substring")
    dataset: Path | None = Field(None, validation_alias="DATASET_BASE")
    samples: int = Field(3, ge=1, validation_alias="NUM_SAMPLES")
    out: Path = Path("results")
    resume: bool = False
    concurrency: int | None = Field(None, ge=1, description="threads at once; default: samples")
    search: Literal["seeded", "independent"] = Field(
        "seeded",
        description="seeded: a sample that starts after others of its problem have correct kernels begins "
        "from the best of them; independent: every sample starts from scratch (best-of-k, as published)",
    )
    seed_kernels: int = Field(2, ge=1, description="how many of the best kernels a seeded sample starts from")
    counters_for_best: bool = Field(
        True, description="read the vendor profiler's counters (ncu, rocprofv3) for every thread's new best"
    )
    max_run_tokens: int | None = Field(
        None, ge=1, description="stop asking the LLM once the whole run has used this many tokens"
    )
    max_cost: float | None = Field(
        None, gt=0, description="stop asking the LLM once the run's cost reaches this many USD"
    )
    price_input: float | None = Field(
        None, ge=0, description="USD per million input tokens (default: agent/prices.json)"
    )
    price_output: float | None = Field(
        None, ge=0, description="USD per million output tokens (default: agent/prices.json)"
    )
    progress: bool = Field(True, description="live progress display on a terminal")
    library_roots: str | None = Field(
        None,
        description="more header folders the model may read with read_library, as NAME=PATH pairs separated "
        "by commas (e.g. cutlass=/opt/cutlass/include); the platform's own (HipKittens, HIP, CUDA) come anyway",
    )

    @field_validator("library_roots")
    @classmethod
    def _roots_exist(cls, v):
        if v:
            for name, path in parse_roots(v).items():
                if not path.is_dir():
                    raise ValueError(f"library root {name}={path} is not a folder")
        return v

    def extra_library_roots(self) -> dict[str, Path]:
        return parse_roots(self.library_roots or "")

    @field_validator("dataset", mode="before")
    @classmethod
    def _empty_dataset_is_unset(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get(CONFIG_ENV)
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)

    def section(self, model: type[M]) -> M:
        """The part of these settings that `model` declares (Budget, LLMConfig, EvalConfig)."""
        return model.model_validate({name: getattr(self, name) for name in model.model_fields})

    def threads(self) -> int:
        return self.concurrency or self.samples

    def spare_workers(self) -> int:
        """Each thread waits on at most one evaluation at a time, so one spare per thread means none waits
        for a worker's imports unless threads ask faster than a spare imports (on 2 x H200, 8 x 2 with 12
        threads: mean wait 4.3 s with 3 spares started at the first evaluation, 1.7 s with 12 started with
        the run). Each costs about 0.6 GiB of host memory, and a core while it imports."""
        return self.spares or min(self.threads(), usable_cores())

    def eval_config(self) -> EvalConfig:
        """The harness's settings, with a run's spare count (one per thread) where none was given, and
        successes re-timed from the run's target."""
        retime = self.retime_at if self.retime_at is not None else self.target
        return self.section(EvalConfig).model_copy(update={"spares": self.spare_workers(), "retime_at": retime})

    def public(self) -> dict[str, Any]:
        """What is saved with a run: everything but secrets."""
        data = self.model_dump(mode="json")
        data["api_key"] = "***" if self.api_key else None
        return data


def assignments(pairs: list[str]) -> dict[str, str]:
    """`--set name=value` pairs as settings fields; an unknown name or a missing '=' is a user error."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise ConfigError(f"Bad --set '{pair}': write it as NAME=VALUE, e.g. --set max_turns=60.")
        field = Settings.model_fields.get(name)
        if field is None:
            known = ", ".join(sorted(Settings.model_fields))
            raise ConfigError(f"Unknown setting '{name}' in --set: the settings are {known}.")
        out[name] = _structured(name, value) if get_origin(field.annotation) in (dict, list) else value
    return out


def _structured(name: str, value: str):
    """A dict or list setting is given as JSON, as in its environment variable."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise ConfigError(f"Bad --set {name}: its value is JSON, e.g. --set {name}='{{\"build\": 600}}'.") from None
