"""One retry policy for LLM requests, whatever the provider: rate limits, 5xx answers, timeouts and dropped
connections are retried with backoff that honours Retry-After, until the retries or the patience run out."""

from __future__ import annotations

import email.utils
import http
import math
import random
import time
from collections.abc import Callable, Mapping
from datetime import timezone
from typing import Any

import openai
import structlog
from pydantic import BaseModel, Field

from tools.errors import BackendError

log = structlog.get_logger("llm")

RETRY_STATUS = frozenset({408, 409, 429})
_TRANSIENT = (openai.APIConnectionError, ConnectionError, TimeoutError)
# Matched by class name, without importing each library: SDKs generated like openai's (anthropic, groq, ...) name
# theirs the same; httpx and its fork httpx2 (under openai>=3) share TransportError (timeouts, refused and dropped
# connections); newer langchain integrations add langchain_core's Model*Error, absent from older releases.
_TRANSIENT_NAMES = frozenset(
    {"APIConnectionError", "APITimeoutError", "TransportError", "ModelConnectionError", "ModelTimeoutError"}
)


class RetryPolicy(BaseModel):
    retries: int = Field(ge=0)
    patience_s: float = Field(ge=0, description="longest wait for a provider that stays down, from its first failure")
    base_s: float = Field(1.0, gt=0)
    cap_s: float = Field(60.0, gt=0, description="cap of the backoff; a Retry-After header may ask for longer")


class LLMUnavailable(BackendError):
    """The LLM provider kept failing until the retries or the patience ran out."""


def status_of(exc: BaseException) -> int | None:
    for holder in (exc, getattr(exc, "response", None)):
        code = getattr(holder, "status_code", None)
        if isinstance(code, int):
            return code
    return None


def is_retryable(exc: BaseException) -> bool:
    status = status_of(exc)
    if status is not None:
        return status in RETRY_STATUS or status >= 500
    return isinstance(exc, _TRANSIENT) or any(c.__name__ in _TRANSIENT_NAMES for c in type(exc).__mro__)


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return max(0.0, value) if math.isfinite(value) else None


def _http_date_delay(text: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - time.time())


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, or `Retry-After` in seconds or as an HTTP date)."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if not isinstance(headers, Mapping):
        return None
    lower = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    millis = _seconds(lower.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    raw = lower.get("retry-after")
    if raw is None:
        return None
    seconds = _seconds(raw)
    return seconds if seconds is not None else _http_date_delay(raw)


def backoff_s(policy: RetryPolicy, retry: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^retry)]."""
    return random.uniform(0.0, min(policy.cap_s, policy.base_s * 2.0 ** min(retry, 64)))


def next_wait(exc: BaseException, policy: RetryPolicy, retry: int) -> float:
    asked = retry_after(exc)
    return asked if asked is not None else backoff_s(policy, retry)


def describe(exc: BaseException) -> str:
    """The provider's error in a few words: `HTTP 503 Service Unavailable`, or the exception's type and text."""
    status = status_of(exc)
    if status is not None:
        try:
            return f"HTTP {status} {http.HTTPStatus(status).phrase}"
        except ValueError:
            return f"HTTP {status}"
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _give_up_message(exc: BaseException, policy: RetryPolicy, retried: int, elapsed: float, wait: float) -> str:
    if not retried:
        head = f"the LLM provider failed ({describe(exc)})"
    else:
        head = (
            f"the LLM provider kept failing ({describe(exc)}) after {retried} "
            f"{'retry' if retried == 1 else 'retries'} over {elapsed:.0f} s"
        )
    if retried >= policy.retries:
        return head if retried else f"{head} and retries are off"
    return f"{head}; waiting {wait:.0f} s more would pass the patience of {policy.patience_s:g} s"


def log_retry(attempt: int, exc: BaseException, wait_s: float) -> None:
    log.warning("llm_retry", attempt=attempt, status=status_of(exc), error=describe(exc), wait_s=round(wait_s, 3))


def invoke_with_retry(
    runnable: Any,
    messages: Any,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, BaseException, float], None] = log_retry,
) -> Any:
    """`runnable.invoke(messages)`, retried per `policy`; raises LLMUnavailable once it gives up, and any
    error that is not worth retrying (400, 401, 403, 404, 422, a bug) at once."""
    first_failure: float | None = None
    retried = 0
    while True:
        try:
            return runnable.invoke(messages)
        except Exception as exc:
            if not is_retryable(exc):
                raise
            now = time.monotonic()
            first_failure = now if first_failure is None else first_failure
            elapsed = now - first_failure
            wait = next_wait(exc, policy, retried)
            if retried >= policy.retries or elapsed + wait > policy.patience_s:
                raise LLMUnavailable(_give_up_message(exc, policy, retried, elapsed, wait)) from exc
            retried += 1
            on_retry(retried, exc, wait)
        sleep(wait)
