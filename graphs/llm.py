"""Chat-model backends: `provider:model` through langchain's registry, or `module:factory` of one's own."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
from typing import Any

from langchain.chat_models import init_chat_model
from langchain.chat_models.base import _BUILTIN_PROVIDERS
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from graphs.llm_retry import RetryPolicy
from tools.errors import BackendError

# Providers whose client needs a key, and the variable it reads when none is passed.
KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "azure_openai": "AZURE_OPENAI_API_KEY",
    "groq": "GROQ_API_KEY",
    "mistralai": "MISTRAL_API_KEY",
    "xai": "XAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "fireworks": "FIREWORKS_API_KEY",
    "together": "TOGETHER_API_KEY",
    "google_genai": "GOOGLE_API_KEY",
    "cohere": "COHERE_API_KEY",
    "perplexity": "PPLX_API_KEY",
    "nvidia": "NVIDIA_API_KEY",
    "upstage": "UPSTAGE_API_KEY",
}

# Clients known to take `timeout` and `max_retries`; others (ollama, bedrock, ...) may reject them.
# They get max_retries=0: graphs.llm_retry retries instead, so backoff does not stack and a Retry-After
# longer than the client's own ceiling (openai's: 60 s) is still honoured.
_TAKES_RETRY_ARGS = {
    "anthropic",
    "deepseek",
    "azure_openai",
    "groq",
    "mistralai",
    "xai",
    "openrouter",
    "fireworks",
    "together",
    "google_genai",
    "perplexity",
}

_FACTORY_ARGS = ("base_url", "api_key", "temperature")


def _reasoning_field(message: dict) -> str | None:
    # vLLM/SGLang/DeepSeek send `reasoning_content`; newer vLLM and OpenRouter send `reasoning`.
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class ReasoningChatOpenAI(ChatOpenAI):
    """ChatOpenAI that keeps the reasoning text OpenAI-compatible servers return beside the answer."""

    def _create_chat_result(self, response: Any, generation_info: dict | None = None) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        raw = response if isinstance(response, dict) else response.model_dump(warnings=False)
        for generation, choice in zip(result.generations, raw.get("choices") or [], strict=False):
            text = _reasoning_field(choice.get("message") or {})
            if text:
                generation.message.additional_kwargs["reasoning_content"] = text
        return result

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict, default_chunk_class: type, base_generation_info: dict | None
    ) -> ChatGenerationChunk | None:
        generation = super()._convert_chunk_to_generation_chunk(chunk, default_chunk_class, base_generation_info)
        choices = chunk.get("choices") or chunk.get("chunk", {}).get("choices") or []
        if generation is not None and choices:
            text = _reasoning_field(choices[0].get("delta") or {})
            if text:
                # String values in additional_kwargs concatenate when chunks are added.
                generation.message.additional_kwargs["reasoning_content"] = text
        return generation


class LLMConfig(BaseModel):
    """Which model the threads talk to and how patiently: the LLM's part of the settings."""

    model_config = ConfigDict(populate_by_name=True)

    model: str = Field(
        "openai:gpt-4.1",
        validation_alias="LLM_MODEL",
        description="provider:name (openai:gpt-4.1, anthropic:claude-...) or module:factory",
    )
    base_url: str | None = Field(
        None,
        validation_alias="LLM_BASE_URL",
        description="an OpenAI-compatible server (vLLM, SGLang, Ollama, a gateway)",
    )
    api_key: SecretStr | None = Field(None, validation_alias="LLM_GATEWAY_KEY")
    temperature: float | None = Field(None, validation_alias="LLM_TEMPERATURE")
    streaming: bool = False
    llm_timeout: float = Field(600.0, gt=0, description="seconds one LLM request may take before it is retried")
    llm_retries: int = Field(
        8, ge=0, description="retries of one LLM request (429, 5xx, timeouts, dropped connections)"
    )
    llm_patience_s: float = Field(
        1800.0, gt=0, description="longest a thread waits for an LLM provider that stays down"
    )

    @field_validator("base_url", "api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    def chat_model(self) -> BaseChatModel:
        return load_chat_model(
            self.model,
            base_url=self.base_url,
            api_key=self.api_key.get_secret_value() if self.api_key else None,
            temperature=self.temperature,
            timeout=self.llm_timeout,
            streaming=self.streaming,
        )

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(retries=self.llm_retries, patience_s=self.llm_patience_s)


def load_chat_model(
    spec: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    temperature: float | None = None,
    timeout: float = 600.0,
    streaming: bool = False,
) -> BaseChatModel:
    """Build the chat model named by `provider:model` or `module.path:factory`.

    The client itself never retries: graphs.llm_retry.invoke_with_retry does, with the graph's
    RetryPolicy (ThreadContext.retry)."""
    head, sep, tail = spec.partition(":")
    if not sep or not head or not tail:
        raise BackendError(
            f"Model spec '{spec}' needs the form provider:model (e.g. openai:gpt-4o) "
            "or module:factory for your own backend."
        )
    if head in _BUILTIN_PROVIDERS:
        return _from_provider(head, tail, base_url, api_key, temperature, timeout, streaming)
    return _from_factory(spec, head, tail, base_url=base_url, api_key=api_key, temperature=temperature)


def _resolve_key(provider: str, api_key: str | None, base_url: str | None) -> str | None:
    env = KEY_ENV.get(provider)
    key = api_key or (os.environ.get(env) if env else None)
    if key:
        return key
    if base_url:
        return "EMPTY"  # local vLLM/Ollama/SGLang servers accept any key
    if env is None:
        return None
    raise BackendError(
        f"No API key for {provider}: set LLM_GATEWAY_KEY or {env}, or point --base-url at a server that needs none."
    )


def _from_provider(
    provider: str,
    model: str,
    base_url: str | None,
    api_key: str | None,
    temperature: float | None,
    timeout: float,
    streaming: bool,
) -> BaseChatModel:
    package = _BUILTIN_PROVIDERS[provider][0]
    if importlib.util.find_spec(package.split(".")[0]) is None:
        pip_name = package.split(".")[0].replace("_", "-")
        raise BackendError(f"Provider '{provider}' needs its langchain package: pip install {pip_name}")
    key = _resolve_key(provider, api_key, base_url)

    if provider == "openai":
        kwargs: dict[str, Any] = {}
        if temperature is not None:
            kwargs["temperature"] = temperature
        if streaming:
            # Only when asked: an explicit streaming=False also turns off .stream() and graph token streaming.
            kwargs["streaming"] = True
        return ReasoningChatOpenAI(
            model=model,
            base_url=base_url,
            api_key=key,
            timeout=timeout,
            max_retries=0,
            stream_usage=True,
            use_responses_api=False,
            **kwargs,
        )

    kwargs = {"model_provider": provider}
    for name, value in (("base_url", base_url), ("api_key", key), ("temperature", temperature)):
        if value is not None:
            kwargs[name] = value
    if provider in _TAKES_RETRY_ARGS:
        kwargs.update(timeout=timeout, max_retries=0)
    if streaming:
        kwargs["streaming"] = True
    try:
        return init_chat_model(model, **kwargs)
    except ImportError as exc:
        raise BackendError(f"Provider '{provider}' could not be loaded: {exc}") from exc


def _from_factory(spec: str, module_name: str, attr: str, **options: Any) -> BaseChatModel:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise BackendError(f"Model backend module '{module_name}' failed to import: {exc}") from exc
        providers = ", ".join(sorted(_BUILTIN_PROVIDERS))
        raise BackendError(
            f"Unknown model backend '{module_name}': use provider:model with a provider among "
            f"{providers}, or module:factory for your own."
        ) from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise BackendError(f"Model backend '{spec}': module '{module_name}' has no callable '{attr}'.")

    model = factory(**_accepted_kwargs(factory, options))
    if not isinstance(model, BaseChatModel):
        raise BackendError(
            f"Model backend '{spec}' returned {type(model).__name__}, not a langchain chat model (BaseChatModel)."
        )
    return model


def _accepted_kwargs(factory: Any, options: dict[str, Any]) -> dict[str, Any]:
    given = {k: v for k, v in options.items() if k in _FACTORY_ARGS and v is not None}
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return given
    return {k: v for k, v in given.items() if k in params}


def _block_reasoning(block: Any) -> str:
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "thinking":  # Anthropic extended thinking
        return block.get("thinking") or ""
    if kind == "reasoning":
        if isinstance(block.get("reasoning"), str):  # langchain standard block
            return block["reasoning"]
        summary = block.get("summary") or []  # OpenAI Responses API block
        return "\n".join(s.get("text", "") for s in summary if isinstance(s, dict))
    return ""


def reasoning_text(message: BaseMessage) -> str:
    """The model's reasoning in `message`, whatever backend produced it; "" when there is none."""
    parts: list[str] = []
    extra = message.additional_kwargs
    if isinstance(extra.get("reasoning_content"), str):
        parts.append(extra["reasoning_content"])
    if isinstance(extra.get("reasoning"), dict):  # Responses API with output_version v0
        parts.append(_block_reasoning({"type": "reasoning", **extra["reasoning"]}))
    if isinstance(message.content, list):
        parts.extend(_block_reasoning(block) for block in message.content)
    unique: list[str] = []
    for part in parts:
        if part and part not in unique:
            unique.append(part)
    return "\n\n".join(unique)


def usage_of(message: BaseMessage) -> dict[str, int]:
    """Token counts of one reply; zeros when the backend reported none."""
    usage = getattr(message, "usage_metadata", None) or {}
    return {key: int(usage.get(key) or 0) for key in ("input_tokens", "output_tokens", "total_tokens")}
