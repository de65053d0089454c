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

from pydantic import BaseModel, Field, ValidationError, field_validator
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
    ray: str | None = Field(
        None,
        description="evaluate on the Ray cluster at this address (auto: $RAY_ADDRESS, else the one this "
        "machine runs), a lane per GPU of every node; needs pip install 'hipgenerator[ray]'",
    )
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

    @field_validator("dataset", "ray", mode="before")
    @classmethod
    def _empty_is_unset(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path is not None:
            sources.append(_config_source(settings_cls, path))
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


def config_file() -> Path | None:
    """The TOML file HIPGEN_CONFIG names, if it names one."""
    raw = os.environ.get(CONFIG_ENV, "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not there"
        raise ConfigError(f"{CONFIG_ENV} names {path}, which is {what}: point it at a TOML settings file or unset it.")
    return path


def _config_source(settings_cls: type[BaseSettings], path: Path) -> TomlConfigSettingsSource:
    try:
        return TomlConfigSettingsSource(settings_cls, toml_file=path)
    except ValueError as e:  # a TOML syntax error (it says where), or bytes that are not UTF-8 text
        raise ConfigError(f"{path} ({CONFIG_ENV}) is not valid TOML: {e}; fix it or unset {CONFIG_ENV}.") from None
    except OSError as e:
        raise ConfigError(
            f"{path} ({CONFIG_ENV}) cannot be read ({e.strerror}): fix it or unset {CONFIG_ENV}."
        ) from None


def resolve(sets: dict[str, Any], flags: dict[str, Any]) -> Settings:
    """Settings from `--set`s and flags (flags beat `--set`), then the environment, the config file and the
    defaults. A bad value is reported under the name the user wrote it with, where they wrote it."""
    try:
        return Settings(**{**sets, **flags})
    except ValidationError as e:
        raise ConfigError(_bad_value(e.errors()[0], sets, flags)) from None


def _bad_value(error: dict, sets: dict[str, Any], flags: dict[str, Any]) -> str:
    loc = [str(x) for x in error.get("loc") or ("settings",)]
    name = None if error.get("type") == "extra_forbidden" else _setting_named(loc[0])
    if name is None:  # flags and --set take known names only, and the environment is read by name: the file
        path = config_file()
        known = ", ".join(sorted(Settings.model_fields))
        return f"{loc[0]}{f' in {path}' if path else ''} is not a setting: the settings are {known}."
    got = error.get("input")
    got = f" (got {got!r})" if isinstance(got, (str, int, float)) else ""
    written, where = _origin(name, sets, flags)
    inner = "".join(f"[{x!r}]" for x in loc[1:])  # a key of a dict setting, e.g. timeouts['build']
    return f"bad value for {written}{inner}{where}: {error.get('msg')}{got}."


def _setting_named(key: str) -> str | None:
    """The setting a validation error's key means: its name, or the alias it is read under."""
    key = key.lower()
    return next((name for name in Settings.model_fields if key in (name, _env_name(name).lower())), None)


def _env_name(name: str) -> str:
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else f"HIPGEN_{name.upper()}"


def _origin(name: str, sets: dict[str, Any], flags: dict[str, Any]) -> tuple[str, str]:
    """Where a setting's value came from, as the user wrote it: its flag, `--set name`, its environment
    variable, or its key in the config file (the order in which they beat one another). (name, where)"""
    if name in flags:
        return "--" + name.replace("_", "-"), ""
    if name in sets:
        return f"--set {name}", ""
    env = _env_name(name).lower()
    found = next((k for k in os.environ if k.lower() == env), None)
    if found is not None:
        return found, ""
    path = config_file()
    if path is not None:
        written = next((k for k in _config_source(Settings, path).toml_data if k.lower() in (name, env)), None)
        if written is not None:
            return written, f" in {path}"
    return name, ""
