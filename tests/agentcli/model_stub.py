# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A model-API stub for running the real agent CLIs offline: a threaded HTTP server on
127.0.0.1 (a free port) that speaks just enough of Anthropic's Messages API (for `claude`)
and OpenAI's Responses API (for `codex`) to carry a conversation of plain text replies.

A test can make it stream slowly (so a turn stays "working"), fail with an HTTP status on
demand, and read back every request it received (path and body), e.g. to check that a
prompt reached the model verbatim. Any other path gets a harmless empty JSON answer and is
logged like the rest. Stdlib only; it serves loopback only and stops with `stop()`.

Run it by hand to watch what a CLI asks for: `python3 tests/agentcli/model_stub.py [PORT [LOG.jsonl]]`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import urlsplit

# Claude's startup probes and side requests (title generation, quota checks) use the same
# endpoint as the conversation; these words would only confuse a test reading the screen.
DEFAULT_REPLY = "Hello from the model stub."
# POST a JSON object of Behaviour fields here to change them from outside (e.g. with curl
# while exploring a CLI by hand); the response is the behaviour now in force.
CONTROL_PATH = "/_stub/behaviour"


@dataclass(slots=True)
class Recorded:
    """One request as the stub received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the decoded JSON, or the raw text when it was not JSON
    time: float

    def text(self) -> str:
        """The body as one string (JSON re-encoded without escaping non-ASCII)."""
        if isinstance(self.body, str):
            return self.body
        return json.dumps(self.body, ensure_ascii=False)


@dataclass(slots=True)
class Behaviour:
    """What the stub answers to the next model calls; a test changes it between turns."""

    reply: str = DEFAULT_REPLY
    chunk_chars: int = 8  # characters per streamed text delta
    chunk_delay: float = 0.0  # seconds between deltas
    title: str = "Stub session"  # the answer to claude's session-title request (a JSON schema)
    fail_status: int | None = None  # answer model calls with this status (e.g. 500, 529)
    fail_times: int = -1  # how many calls fail before it answers again; -1: until reset


@dataclass(slots=True)
class _State:
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class ModelStub:
    """The server; `with ModelStub() as stub:` or start()/stop()."""

    def __init__(self, port: int = 0) -> None:
        self._state = _State()
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="model-stub", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    @property
    def behaviour(self) -> Behaviour:
        return self._state.behaviour

    def set(self, **changes: Any) -> None:
        """Change what the next calls get: set(reply="...", chunk_delay=0.5, fail_status=500)."""
        with self._state.lock:
            for key, value in changes.items():
                if not hasattr(self._state.behaviour, key):
                    raise AttributeError("no such stub setting: %s" % key)
                setattr(self._state.behaviour, key, value)

    def requests(self, path: str | None = None) -> list[Recorded]:
        """What it received so far, oldest first; only those to `path` (no query) when given."""
        with self._state.lock:
            found = list(self._state.requests)
        return [r for r in found if path is None or urlsplit(r.path).path == path]

    def paths(self) -> list[str]:
        return ["%s %s" % (r.method, r.path) for r in self.requests()]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30.0) -> list[Recorded]:
        """Block until `count` requests to `path` have come in; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests(path)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise TimeoutError("the stub got %d of %d requests to %s; all: %s"
                           % (len(self.requests(path)), count, path, self.paths()))

    def start(self) -> "ModelStub":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "ModelStub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    state: _State
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # the record in `requests` is the log

    def do_GET(self) -> None:
        self._record(None)
        self._json(200, {"data": [], "has_more": False} if self._route().endswith("/models") else {})

    def do_HEAD(self) -> None:
        self._record(None)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else self._read_chunked()
        body = self._record(raw)
        route = self._route()
        if route == CONTROL_PATH and isinstance(body, dict):
            self._json(200, self._control(body))
            return
        if route in ("/v1/messages", "/v1/responses"):
            failure = self._take_failure()
            if failure is not None:
                self._json(failure, _error_body(route, failure))
                return
        behaviour = self.state.behaviour
        stream = isinstance(body, dict) and bool(body.get("stream"))
        if route == "/v1/messages/count_tokens":
            self._json(200, {"input_tokens": max(1, len(raw) // 4)})
        elif route == "/v1/messages":
            text = _structured_reply(body, behaviour) or behaviour.reply
            if stream:
                self._sse(_anthropic_events(text, behaviour, _model(body)), behaviour.chunk_delay)
            else:
                self._json(200, _anthropic_message(text, _model(body)))
        elif route == "/v1/responses":
            self._sse(_responses_events(behaviour, _model(body)), behaviour.chunk_delay)
        else:
            self._json(200, {})

    def _route(self) -> str:
        return urlsplit(self.path).path

    def _read_chunked(self) -> bytes:
        if "chunked" not in (self.headers.get("Transfer-Encoding") or ""):
            return b""
        data = b""
        while True:
            size = int(self.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                self.rfile.readline()
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    def _record(self, raw: bytes | None) -> Any:
        body: Any = None
        if raw:
            text = raw.decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        entry = Recorded(self.command, self.path, dict(self.headers.items()), body, time.time())
        with self.state.lock:
            self.state.requests.append(entry)
        return body

    def _control(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            behaviour = self.state.behaviour
            for key, value in changes.items():
                if hasattr(behaviour, key):
                    setattr(behaviour, key, value)
            return {key: getattr(behaviour, key) for key in Behaviour.__dataclass_fields__}

    def _take_failure(self) -> int | None:
        with self.state.lock:
            behaviour = self.state.behaviour
            if behaviour.fail_status is None or behaviour.fail_times == 0:
                return None
            if behaviour.fail_times > 0:
                behaviour.fail_times -= 1
            return behaviour.fail_status

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_stub_%s" % uuid.uuid4().hex[:12])
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: Iterator[tuple[str, dict[str, Any]]], delay: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for name, data in events:
                if name.endswith("_delta") or name.endswith(".delta"):
                    time.sleep(delay)
                self.wfile.write(("event: %s\ndata: %s\n\n" % (name, json.dumps(data))).encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. the user interrupted the turn)


def _model(body: Any) -> str:
    return str(body.get("model") or "stub-model") if isinstance(body, dict) else "stub-model"


def _structured_reply(body: Any, behaviour: Behaviour) -> str | None:
    """A request that asks for JSON by schema (claude names its session this way) gets an
    object with every required string property filled in, the title from `behaviour`."""
    try:
        schema = body["output_config"]["format"]["schema"]
    except (KeyError, TypeError):
        return None
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return None
    props = schema.get("properties") or {}
    answer = {name: behaviour.title if name == "title" else "stub"
              for name in schema.get("required") or [] if (props.get(name) or {}).get("type") == "string"}
    return json.dumps(answer)


def _chunks(text: str, behaviour: Behaviour) -> list[str]:
    size = max(1, behaviour.chunk_chars)
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _error_body(route: str, status: int) -> dict[str, Any]:
    kind = "overloaded_error" if status == 529 else "api_error"
    if route == "/v1/responses":
        return {"error": {"type": "server_error", "message": "stub failure %d" % status, "code": None}}
    return {"type": "error", "error": {"type": kind, "message": "stub failure %d" % status}}


def _usage() -> dict[str, int]:
    return {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def _anthropic_message(text: str, model: str) -> dict[str, Any]:
    return {"id": "msg_stub_%s" % uuid.uuid4().hex[:16], "type": "message", "role": "assistant",
            "model": model, "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": _usage()}


def _anthropic_events(text: str, behaviour: Behaviour, model: str) -> Iterator[tuple[str, dict[str, Any]]]:
    start = _anthropic_message("", model)
    start["content"], start["stop_reason"] = [], None
    yield "message_start", {"type": "message_start", "message": start}
    yield "content_block_start", {"type": "content_block_start", "index": 0,
                                  "content_block": {"type": "text", "text": ""}}
    for piece in _chunks(text, behaviour):
        yield "content_block_delta", {"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "text_delta", "text": piece}}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                            "usage": {"output_tokens": 5}}
    yield "message_stop", {"type": "message_stop"}


def _responses_events(behaviour: Behaviour, model: str) -> Iterator[tuple[str, dict[str, Any]]]:
    rid, mid = "resp_stub_%s" % uuid.uuid4().hex[:16], "msg_stub_%s" % uuid.uuid4().hex[:16]
    response: dict[str, Any] = {"id": rid, "object": "response", "created_at": int(time.time()),
                                "status": "in_progress", "model": model, "output": []}
    yield "response.created", {"type": "response.created", "response": response}
    item: dict[str, Any] = {"type": "message", "id": mid, "status": "in_progress", "role": "assistant", "content": []}
    yield "response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": item}
    yield "response.content_part.added", {"type": "response.content_part.added", "item_id": mid, "output_index": 0,
                                          "content_index": 0, "part": {"type": "output_text", "text": ""}}
    for piece in _chunks(behaviour.reply, behaviour):
        yield "response.output_text.delta", {"type": "response.output_text.delta", "item_id": mid,
                                             "output_index": 0, "content_index": 0, "delta": piece}
    part = {"type": "output_text", "text": behaviour.reply, "annotations": []}
    yield "response.output_text.done", {"type": "response.output_text.done", "item_id": mid, "output_index": 0,
                                        "content_index": 0, "text": behaviour.reply}
    yield "response.content_part.done", {"type": "response.content_part.done", "item_id": mid, "output_index": 0,
                                         "content_index": 0, "part": part}
    done = dict(item, status="completed", content=[part])
    yield "response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": done}
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 5,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15}
    yield "response.completed", {"type": "response.completed",
                                 "response": dict(response, status="completed", output=[done], usage=usage)}


def main(argv: list[str]) -> int:
    """Serve in the foreground and print each request as it comes (for exploring a CLI);
    with a second argument, also append each request in full to that JSON-lines file."""
    stub = ModelStub(int(argv[1]) if len(argv) > 1 else 0).start()
    dump = open(argv[2], "a", encoding="utf-8") if len(argv) > 2 else None
    print("model stub on %s (Ctrl-C stops it)" % stub.url, flush=True)
    seen = 0
    try:
        while True:
            found = stub.requests()
            for entry in found[seen:]:
                print("%s %s %s" % (entry.method, entry.path, entry.text()[:300]), flush=True)
                if dump is not None:
                    dump.write(json.dumps({"method": entry.method, "path": entry.path, "headers": entry.headers,
                                           "body": entry.body}, ensure_ascii=False) + "\n")
                    dump.flush()
            seen = len(found)
            time.sleep(0.2)
    except KeyboardInterrupt:
        stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
