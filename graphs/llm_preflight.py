"""One cheap call to the model's endpoint before a run starts, so that a wrong URL, a refused key or an
unknown model ends the run in seconds with one line, instead of every thread waiting out its patience.
OpenAI-compatible endpoints are asked for their model list (no tokens); a server without that route, and
every other provider, get a one-word chat request. A `module:factory` backend of one's own is not
called: its first reply is the run's."""

from __future__ import annotations

import threading

from langchain.chat_models.base import _BUILTIN_PROVIDERS
from langchain_core.language_models import BaseChatModel

from tools.errors import BackendError, EndpointDown

TIMEOUT_S = 20.0


def preflight(spec: str, llm: BaseChatModel, base_url: str | None, timeout: float = TIMEOUT_S) -> str | None:
    """Raise BackendError (bad key, unknown model) or EndpointDown (nothing answers); else say what was
    checked, or None for a backend of one's own."""
    provider, _, model = spec.partition(":")
    if provider not in _BUILTIN_PROVIDERS:
        return None
    where = base_url or f"{provider}'s API"
    try:
        if provider == "openai" and hasattr(llm, "root_client"):
            listed = _listed_models(llm, timeout)
            if listed is not None:
                if model not in listed:
                    shown = ", ".join(sorted(listed)[:8]) + (", ..." if len(listed) > 8 else "")
                    raise BackendError(
                        f"{where} does not serve model '{model}' (it lists {shown or 'none'}): "
                        f"pass --model openai:<one it lists>."
                    )
                return f"{where} lists {model}"
        _one_word(llm, timeout)
        return f"{where} answered {model}"
    except (BackendError, EndpointDown):
        raise
    except Exception as e:  # noqa: BLE001 - every client library names its errors differently
        raise _explain(e, spec, where, timeout) from None


def _listed_models(llm, timeout: float) -> set[str] | None:
    """The endpoint's model ids, or None when it has no /models route."""
    import openai

    client = llm.root_client.with_options(timeout=timeout, max_retries=0)
    try:
        return {m.id for m in client.models.list().data}
    except (openai.NotFoundError, openai.UnprocessableEntityError):
        return None
    except openai.APIStatusError as e:
        if e.status_code == 405:
            return None
        raise


def _one_word(llm: BaseChatModel, timeout: float) -> None:
    """A tiny chat request, abandoned (not awaited) after `timeout` seconds."""
    box: dict = {}

    def call():
        try:
            llm.invoke("Reply with the single word OK.")
        except Exception as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e

    t = threading.Thread(target=call, daemon=True, name="llm-preflight")
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]


def _explain(e: Exception, spec: str, where: str, timeout: float) -> Exception:
    status = getattr(e, "status_code", None) or getattr(getattr(e, "response", None), "status_code", None)
    text = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
    if status in (401, 403):
        return BackendError(
            f"{where} refused the API key (HTTP {status}: {text}): check LLM_GATEWAY_KEY or the provider's key variable."
        )
    if status == 404:
        return BackendError(f"{where} does not know model '{spec}' (HTTP 404: {text}): check --model.")
    if status == 400:
        return BackendError(f"{where} rejected a one-word request to '{spec}' (HTTP 400: {text}): check --model.")
    kind = type(e).__name__
    if status is None and ("Connection" in kind or "Timeout" in kind or isinstance(e, (OSError, TimeoutError))):
        return EndpointDown(
            f"Nothing answered at {where} ({text}; waited up to {timeout:g} s): check --base-url and the network, "
            f"or start the server."
        )
    return EndpointDown(f"{where} failed a first request to '{spec}' ({kind}: {text}): try again, or check --base-url.")
