"""LLM faults over real HTTP, through the real ChatOpenAI client against the local stub: rate limits and 5xx
answers are retried with backoff that honours Retry-After, stalled requests time out and are retried, a
provider that stays down ends in LLMUnavailable, and in `agent solve` it fails that thread while the run goes on."""

import json
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from types import SimpleNamespace

import openai
import pytest
from langchain_core.messages import HumanMessage

from graphs.llm import load_chat_model
from graphs.llm_retry import LLMUnavailable, RetryPolicy, invoke_with_retry
from tests import scripted_solver
from tests.conftest import AGENT, DATA, agent_env
from tests.openai_stub import OpenAIStub

HI = [HumanMessage("hi")]
OK = {"content": "ok"}
FAST = RetryPolicy(retries=8, patience_s=30, base_s=0.05, cap_s=0.2)


def model(stub, timeout=10.0):
    return load_chat_model("openai:some-model", base_url=stub.base_url, api_key="sk-test", timeout=timeout)


class Retries:
    """Records each retry's (attempt, status, wait_s)."""

    def __init__(self):
        self.seen: list[tuple[int, int | None, float]] = []

    def __call__(self, attempt, exc, wait_s):
        self.seen.append((attempt, getattr(exc, "status_code", None), wait_s))


def test_client_does_not_retry_on_its_own():
    with OpenAIStub([{"status": 503}, OK]) as stub:
        llm = model(stub)
        with pytest.raises(openai.InternalServerError):
            llm.invoke(HI)
    assert llm.max_retries == 0 and len(stub.requests) == 1


def test_rate_limit_waits_for_retry_after():
    retries = Retries()
    with OpenAIStub([{"status": 429, "headers": {"Retry-After": "1"}}, OK]) as stub:
        reply = invoke_with_retry(model(stub), HI, FAST, on_retry=retries)
    assert reply.content == "ok"
    assert len(stub.requests) == 2
    assert stub.request_times[1] - stub.request_times[0] >= 0.95
    assert retries.seen == [(1, 429, 1.0)]  # the header wins over the 0.2 s cap


def test_server_errors_back_off_then_succeed():
    retries = Retries()
    with OpenAIStub([{"status": 500}, {"status": 502}, {"status": 503}, OK]) as stub:
        reply = invoke_with_retry(model(stub), HI, FAST, on_retry=retries)
    assert reply.content == "ok" and len(stub.requests) == 4
    assert [(a, s) for a, s, _ in retries.seen] == [(1, 500), (2, 502), (3, 503)]
    assert all(0 <= w <= min(0.2, 0.05 * 2 ** (a - 1)) for a, _, w in retries.seen)


def test_streaming_request_is_retried():
    with OpenAIStub([{"status": 500}, {"content": "ok", "reasoning": "r"}]) as stub:
        llm = load_chat_model("openai:some-model", base_url=stub.base_url, api_key="sk-test", streaming=True)
        reply = invoke_with_retry(llm, HI, FAST)
    assert reply.content == "ok" and stub.requests[1]["stream"] is True


def test_stalled_request_times_out_and_is_retried():
    started = time.monotonic()
    with OpenAIStub([{"delay_s": 3.0, "content": "late"}, {"content": "on time"}]) as stub:
        reply = invoke_with_retry(model(stub, timeout=1.0), HI, FAST)
    assert reply.content == "on time" and len(stub.requests) == 2
    assert time.monotonic() - started < 2.9  # did not wait for the stalled answer


def test_dropped_connection_is_retried():
    with OpenAIStub([{"drop": True}, OK]) as stub:
        reply = invoke_with_retry(model(stub), HI, FAST)
    assert reply.content == "ok" and len(stub.requests) == 2


def test_provider_that_stays_down_gives_up_within_patience():
    policy = RetryPolicy(retries=100, patience_s=1.0, base_s=0.05, cap_s=0.2)
    started = time.monotonic()
    with OpenAIStub(lambda body: {"status": 503}) as stub, pytest.raises(LLMUnavailable) as info:
        invoke_with_retry(model(stub), HI, policy)
    message = str(info.value)
    assert "HTTP 503 Service Unavailable" in message and "patience of 1 s" in message and "\n" not in message
    assert isinstance(info.value.__cause__, openai.InternalServerError)
    assert 3 <= len(stub.requests) and time.monotonic() - started < 2.0


def test_provider_that_stays_down_gives_up_when_retries_are_spent():
    spent = r"^the LLM provider kept failing \(HTTP 503 Service Unavailable\) after 2 retries over 0 s$"
    with OpenAIStub(lambda body: {"status": 503}) as stub, pytest.raises(LLMUnavailable, match=spent):
        invoke_with_retry(model(stub), HI, RetryPolicy(retries=2, patience_s=30, base_s=0.01))
    assert len(stub.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_raised_at_once(status):
    retries = Retries()
    with OpenAIStub([{"status": status}, OK]) as stub, pytest.raises(openai.APIStatusError) as info:
        invoke_with_retry(model(stub), HI, FAST, on_retry=retries)
    assert info.value.status_code == status
    assert len(stub.requests) == 1 and retries.seen == []


def test_retry_after_beyond_patience_gives_up_without_waiting():
    waits: list[float] = []
    too_long = r"HTTP 429 Too Many Requests.*waiting 120 s more would pass the patience of 30 s"
    with (
        OpenAIStub([{"status": 429, "headers": {"Retry-After": "120"}}, OK]) as stub,
        pytest.raises(LLMUnavailable, match=too_long),
    ):
        invoke_with_retry(model(stub), HI, FAST, sleep=waits.append)
    assert waits == [] and len(stub.requests) == 1


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"Retry-After": "90"}, 90.0),  # longer than cap_s, within patience: honoured
        ({"retry-after-ms": "250", "Retry-After": "1"}, 0.25),
        ({"Retry-After": "in a while"}, None),
    ],
)
def test_retry_after_forms(headers, expected):
    waits: list[float] = []
    policy = RetryPolicy(retries=3, patience_s=300, base_s=0.05, cap_s=60)
    with OpenAIStub([{"status": 503, "headers": headers}, OK]) as stub:
        assert invoke_with_retry(model(stub), HI, policy, sleep=waits.append).content == "ok"
    assert len(waits) == 1
    assert waits[0] == expected if expected is not None else 0 <= waits[0] <= 0.05


def test_retry_after_as_http_date():
    waits: list[float] = []
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    with OpenAIStub([{"status": 429, "headers": {"Retry-After": when}}, OK]) as stub:
        invoke_with_retry(model(stub), HI, FAST, sleep=waits.append)
    assert len(waits) == 1 and 28 <= waits[0] <= 30


class OverloadedError(Exception):
    """Shaped like anthropic's: the status on the exception, the headers on its httpx response."""

    status_code = 529
    response = SimpleNamespace(status_code=529, headers={"retry-after": "7"})


class APITimeoutError(Exception):
    """Named like the timeout of every SDK generated like openai's."""


class Raising:
    def __init__(self, *errors):
        self.errors = list(errors)

    def invoke(self, messages):
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_other_sdks_errors_are_read_by_shape():
    waits: list[float] = []
    retries = Retries()
    runnable = Raising(OverloadedError(), APITimeoutError("Request timed out."))
    assert invoke_with_retry(runnable, HI, FAST, sleep=waits.append, on_retry=retries) == "ok"
    assert waits[0] == 7.0 and [s for _, s, _ in retries.seen] == [529, None]
    with pytest.raises(LLMUnavailable, match=r"\(APITimeoutError: Request timed out\.\) and retries are off"):
        invoke_with_retry(Raising(APITimeoutError("Request timed out.")), HI, RetryPolicy(retries=0, patience_s=0))


def test_threads_wait_out_a_rate_limit_side_by_side():
    n = 4
    script = [{"status": 429, "headers": {"Retry-After": "1"}}] * n + [{"content": "ok", "delay_s": 0.3}] * n
    replies: list[str] = []
    with OpenAIStub(script) as stub:
        llm = model(stub)
        started = time.monotonic()
        threads = [
            threading.Thread(target=lambda: replies.append(invoke_with_retry(llm, HI, FAST).content)) for _ in range(n)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - started
    assert replies == ["ok"] * n
    assert stub.max_in_flight >= 2 and took < 3.5  # one thread's wait does not hold up the others


# --- agent solve: a rate limit and a 5xx on the way to success, and a problem whose provider stays down ---

SCRIPT = {"1_Small_ReLU": ["cpu/good/relu.py"], "4_Row_Sum": ["cpu/good/row_sum.py"]}


class FlakyProvider:
    """Row_Sum's requests always get 503; ReLU's first two get 429 (Retry-After: 1) and 500, then answers."""

    def __init__(self):
        self.relu_faults = [{"status": 429, "headers": {"Retry-After": "1"}}, {"status": 500}]

    def __call__(self, body: dict) -> dict:
        task = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if "4_Row_Sum" in task:
            return {"status": 503}
        return self.relu_faults.pop(0) if self.relu_faults else scripted_solver.wire_turn(body)


@pytest.fixture(scope="module")
def flaky_run(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("llm_faults") / "results"
    with pytest.MonkeyPatch.context() as mp, OpenAIStub(FlakyProvider()) as stub:
        mp.setenv("HIPGEN_SCRIPT", json.dumps(SCRIPT))  # read here, where the stub runs the solver
        cmd = AGENT + [
            "solve",
            "--dataset",
            str(DATA),
            "--level1",
            "--range",
            "1,4",
            "--samples",
            "1",
            "--concurrency",
            "2",
            "--model",
            "openai:stub-model",
            "--base-url",
            stub.base_url,
            "--platform",
            "cpu",
            "--target",
            "0.05",
            "--out",
            str(out),
        ]
        env = agent_env(
            LLM_GATEWAY_KEY="sk-test",
            HIPGEN_CACHE_DIR=str(cache_dir),
            HIPGEN_LLM_RETRIES="8",
            HIPGEN_LLM_PATIENCE_S="4",
            HIPGEN_LLM_TIMEOUT="60",
            HIPGEN_CHECK_TRIALS="3",
            HIPGEN_TIME_BUDGET_S="0.2",
        )
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    return out, proc, stub


def trace(out, problem):
    return [json.loads(line) for line in (out / problem / "trace_0.jsonl").read_text().splitlines()]


def test_solve_rides_out_a_rate_limit_and_a_server_error(flaky_run):
    out, proc, _ = flaky_run
    assert proc.returncode == 1, proc.stderr[-3000:]  # the other thread's provider stayed down
    summary = json.loads((out / "summary.json").read_text())
    assert summary["problems"]["1_Small_ReLU"]["status"] == "success"
    assert trace(out, "1_Small_ReLU")[-1]["type"] == "end"
    log = [json.loads(line) for line in (out / "batch_run.log").read_text().splitlines()]
    relu_retries = [r for r in log if r["event"] == "llm_retry" and r.get("thread") == "1_Small_ReLU/0"]
    assert [(r["attempt"], r["status"]) for r in relu_retries] == [(1, 429), (2, 500)]
    assert relu_retries[0]["wait_s"] == 1.0


def test_solve_fails_only_the_thread_whose_provider_stays_down(flaky_run):
    out, proc, _ = flaky_run
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "1 thread(s) could not run to their end (first: 4_Row_Sum/0: error: LLMUnavailable" in proc.stderr
    text = (out / "detailed_report.txt").read_text()
    assert "sample 0 did not run to its end: error: LLMUnavailable: the LLM provider kept failing" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["problems"]["4_Row_Sum"]["status"] == "failed"
    error = trace(out, "4_Row_Sum")[-1]
    assert error["type"] == "error"
    assert error["error"].startswith("LLMUnavailable: the LLM provider kept failing (HTTP 503 Service Unavailable)")
    assert "patience of 4 s" in error["error"]
