"""An OpenAI-compatible chat-completions server on 127.0.0.1 that answers from a script, for tests.

A turn is a dict:
    {"content": str, "reasoning": str | None, "tool_calls": [{"name": str, "args": dict}],
     "usage": {"prompt_tokens": int, "completion_tokens": int} | None}
`usage` left out gives small default counts; `usage: None` sends none. `"reasoning_field": "reasoning"`
sends the reasoning under the newer `reasoning` key instead of `reasoning_content`.
Special turns: {"status": 429, "headers": {...}} or {"status": 500} answer with that HTTP error;
{"malformed_tool_call": True} answers with a tool call whose arguments are not valid JSON;
{"drop": True} closes the connection without an answer. Any turn may hold "delay_s": seconds to
stall before answering (a client with a shorter timeout gives up first).
The script is a list of turns used in order, or a callable `script(request_body) -> turn`.
`request_times` (time.monotonic() at each request's arrival) and `max_in_flight` (the most requests
being answered at once) tell tests when and how concurrently the client asked.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Turn = dict[str, Any]
DEFAULT_USAGE = {"prompt_tokens": 11, "completion_tokens": 7}
# Not repairable by langchain's partial-JSON parser either, so streaming sees it as invalid too.
MALFORMED_ARGS = '{"path": "kernel.cu", "source": __global__ void k() {}}'


class OpenAIStub:
    def __init__(
        self,
        script: list[Turn] | Callable[[dict], Turn],
        key: str | None = None,
        models: tuple[str, ...] = ("stub-model",),
    ):
        """key: when given, a request without `Authorization: Bearer <key>` gets a 401; models: what
        GET /v1/models lists."""
        self._script = script
        self.key, self.models = key, models
        self._lock = threading.Lock()
        self._turn_index = 0
        self._call_ids = itertools.count(1)
        self.requests: list[dict] = []
        self.authorizations: list[str | None] = []
        self.request_times: list[float] = []
        self.request_wall_times: list[float] = []  # time.time(), to line up with other processes' logs
        self.in_flight = 0
        self.max_in_flight = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> OpenAIStub:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _next_turn(self, body: dict, authorization: str | None) -> Turn | None:
        with self._lock:
            self.request_times.append(time.monotonic())
            self.request_wall_times.append(time.time())
            self.requests.append(body)
            self.authorizations.append(authorization)
            if callable(self._script):
                return self._script(body)
            if self._turn_index >= len(self._script):
                return None
            turn = self._script[self._turn_index]
            self._turn_index += 1
            return turn

    def _tool_calls(self, turn: Turn) -> list[dict]:
        calls = []
        with self._lock:
            if turn.get("malformed_tool_call"):
                calls.append(
                    {
                        "id": f"call_{next(self._call_ids)}",
                        "name": turn.get("name", "write_kernel"),
                        "arguments": MALFORMED_ARGS,
                    }
                )
            for call in turn.get("tool_calls") or []:
                calls.append(
                    {
                        "id": f"call_{next(self._call_ids)}",
                        "name": call["name"],
                        "arguments": json.dumps(call.get("args", {})),
                    }
                )
        return calls


def _usage(turn: Turn) -> dict | None:
    usage = turn.get("usage", DEFAULT_USAGE)
    if usage is None:
        return None
    usage = dict(usage)
    usage.setdefault("total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
    return usage


def _pieces(text: str, n: int = 3) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _completion(body: dict, turn: Turn, calls: list[dict]) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": turn.get("content") or None}
    if turn.get("reasoning"):
        message[turn.get("reasoning_field", "reasoning_content")] = turn["reasoning"]
    if calls:
        message["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls
        ]
    reply = {
        "id": f"chatcmpl-{len(calls)}-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stub-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
    }
    if (usage := _usage(turn)) is not None:
        reply["usage"] = usage
    return reply


def _stream_chunks(body: dict, turn: Turn, calls: list[dict]) -> list[dict]:
    base = {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "stub-model"),
    }

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    field = turn.get("reasoning_field", "reasoning_content")
    chunks += [chunk({field: piece}) for piece in _pieces(turn.get("reasoning") or "")]
    chunks += [chunk({"content": piece}) for piece in _pieces(turn.get("content") or "")]
    for index, call in enumerate(calls):
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        chunks += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in _pieces(call["arguments"])
        ]
    chunks.append(chunk({}, "tool_calls" if calls else "stop"))
    usage = _usage(turn)
    if (body.get("stream_options") or {}).get("include_usage") and usage is not None:
        chunks.append({**base, "choices": [], "usage": usage})
    return chunks


def _handler_for(stub: OpenAIStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _send_json(self, status: int, payload: dict, headers: dict | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _refused(self) -> bool:
            if stub.key is None or self.headers.get("Authorization") == f"Bearer {stub.key}":
                return False
            error = {
                "message": "Incorrect API key provided",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
            self._send_json(401, {"error": error})
            return True

        def do_GET(self) -> None:
            if self._refused():
                return
            if self.path.rstrip("/") == "/v1/models":
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"} for m in stub.models]
                self._send_json(200, {"object": "list", "data": data})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self._refused():
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            stub._enter()
            try:
                self._answer(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (its timeout)
            finally:
                stub._leave()

        def _answer(self, body: dict) -> None:
            turn = stub._next_turn(body, self.headers.get("Authorization"))
            if turn is not None and turn.get("delay_s"):
                time.sleep(turn["delay_s"])
            if turn is not None and turn.get("drop"):
                self.close_connection = True
                return
            if turn is None:
                # 400 is not retried by the SDK, so an exhausted script fails fast.
                self._send_json(400, {"error": {"message": "stub script exhausted", "type": "invalid_request_error"}})
                return
            if status := turn.get("status"):
                self._send_json(
                    status,
                    {"error": {"message": f"stub error {status}", "type": "stub_error", "code": status}},
                    turn.get("headers"),
                )
                return
            calls = stub._tool_calls(turn)
            if not body.get("stream"):
                self._send_json(200, _completion(body, turn, calls))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for item in _stream_chunks(body, turn, calls):
                self.wfile.write(f"data: {json.dumps(item)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler
