"""A local Messages API: `POST /v1/messages`, JSON and SSE streaming, on a real socket.

    python -m tests.standins.claude --port 8765 [--mode ok]

Speaks the wire format the `anthropic` SDK reads: the Message object with `usage` (input, output,
cache_creation_input_tokens, cache_read_input_tokens), the SSE events message_start,
content_block_start, ping, content_block_delta (text_delta), content_block_stop, message_delta (usage)
and message_stop, sent with chunked transfer encoding, and error bodies
`{"type": "error", "error": {"type": ..., "message": ...}}` with the real status codes.

Tool use, from the documented shapes (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/
implement-tool-use, .../build-with-claude/streaming): a request with `tools` first gets a `tool_use`
block (`stop_reason: tool_use`; streamed as content_block_start with empty `input`, then
`input_json_delta` pieces), and the follow-up carrying the `tool_result` blocks gets a text answer that
quotes figures of those results (key = value), so a caller can check the results reached the model. The
request is refused with 400, as the API does, when a `tool_use` is not answered by a `tool_result` in the
next user message or a tool definition lacks its name or object `input_schema`. Without tools, the answer
cites the first figure line of the request's `<factory_data>` block.

A `system` block with `cache_control` is "cached": the first request
reports it as cache_creation_input_tokens, later identical ones as cache_read_input_tokens.

Control endpoints (for tests; the code under test never calls them):

- `POST /control/mode` `{"mode": M, "times": N?, "delay_seconds": S?, "chunk_delay_seconds": C?,
  "retry_after": R?}`: the next N requests (all, when N is absent) behave as M:
  `ok`, `rate_limit` (429), `overloaded` (529), `server_error` (500), `slow` (answer after S seconds),
  `drop` (close the connection without answering), `cut_stream` (start the answer, then cut the
  connection mid-way). `chunk_delay_seconds` spaces the text deltas of streamed answers.
- `POST /control/script` `{"turns": [...]}`: the next responses, one per request, in order; each turn is
  `{"tool_calls": [{"name", "input"}...]}` (stop_reason tool_use), and/or `"text"`, `"stop_reason"`
  (`end_turn`, `max_tokens`, `refusal`, `pause_turn`...), `"fault"`: `malformed` (a 200 whose body is
  not a Message), `overload_mid_stream` (an `error` event of type overloaded_error after the first
  text), `no_final_newline` (the last event lacks its closing blank line), `cut` (the connection drops
  mid-answer), or `"error"`: `rate_limit`, `overloaded` or `server_error` (that HTTP error instead of an
  answer). Once the script is used up, the default behaviour resumes.
- `GET /control/requests`: every request received: headers, JSON body, mode applied, timestamps
  (`received_at`, `first_token_at`: wall-clock seconds).
- `POST /control/reset`: mode ok, requests and cache forgotten.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERRORS = {
    "rate_limit": (429, "rate_limit_error", "This request would exceed your rate limit"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server_error": (500, "api_error", "Internal server error"),
}
MODES = {"ok", "slow", "drop", "cut_stream", *ERRORS}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


class StandinState:
    """What the stand-in was told to do and what it received; shared by the handler threads."""

    def __init__(self, mode: str = "ok") -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.cached_prefixes: set[str] = set()
        self.script: list[dict[str, Any]] = []
        self.configure({"mode": mode})

    def configure(self, control: dict[str, Any]) -> None:
        mode = control.get("mode", "ok")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
        with self.lock:
            self.mode = mode
            self.times: int | None = control.get("times")
            self.delay_seconds = float(control.get("delay_seconds", 0.0))
            self.chunk_delay_seconds = float(control.get("chunk_delay_seconds", 0.0))
            self.retry_after = str(control.get("retry_after", "1"))

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.cached_prefixes.clear()
            self.script = []
        self.configure({"mode": "ok"})

    def next_turn(self) -> dict[str, Any] | None:
        with self.lock:
            return self.script.pop(0) if self.script else None

    def next_mode(self) -> str:
        """The mode for this request, counting down `times`."""
        with self.lock:
            mode = self.mode
            if self.times is not None:
                self.times -= 1
                if self.times <= 0:
                    self.mode, self.times = "ok", None
            return mode


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_result":
            texts.extend(_texts(block.get("content") or ""))
        elif block.get("type") == "tool_use":
            texts.append(json.dumps(block.get("input")))
        else:
            texts.append(block.get("text", ""))
    return texts


def _figures(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """(key, number) leaves of a tool result, in order."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [(key, value)]
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _figures(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in _figures(v, key)]
    return []


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    last = body["messages"][-1]
    content = last["content"] if isinstance(last["content"], list) else []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def answer_from_results(results: list[dict[str, Any]]) -> str:
    """A text answer quoting up to three figures of the tool results, or the tool's error."""
    quoted: list[str] = []
    for result in results:
        content = "".join(_texts(result.get("content") or ""))
        if result.get("is_error"):
            quoted.append(f"the tool reported an error ({content[:120]})")
            continue
        try:
            data = json.loads(content)
        except ValueError:
            continue
        quoted.extend(f"{key} = {value}" for key, value in _figures(data)[:3])
    return "According to the factory data: " + "; ".join(quoted) + "." if quoted else "No figures came back."


def default_turn(body: dict[str, Any]) -> dict[str, Any]:
    """What the stand-in does unscripted: call the first tool, then quote its result."""
    if body.get("tools"):
        results = tool_results(body)
        if results:
            return {"text": answer_from_results(results)}
        return {"tool_calls": [{"name": body["tools"][0]["name"], "input": {}}], "text": "Let me check. "}
    return {"text": answer_for(body)}


def content_of(turn: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The content blocks and stop_reason of a scripted or default turn."""
    blocks: list[dict[str, Any]] = []
    if turn.get("text"):
        blocks.append({"type": "text", "text": turn["text"]})
    for call in turn.get("tool_calls", []):
        blocks.append(
            {
                "type": "tool_use",
                "id": f"toolu_{uuid.uuid4().hex[:20]}",
                "name": call["name"],
                "input": call["input"],
            }
        )
    stop_reason = turn.get("stop_reason") or ("tool_use" if turn.get("tool_calls") else "end_turn")
    return blocks, stop_reason


def answer_for(body: dict[str, Any]) -> str:
    """An answer that cites the first figure of the request's factory data (or says there is none)."""
    last = body["messages"][-1]
    data = next((t for t in _texts(last["content"]) if "<factory_data>" in t), "")
    figure = next(
        (line[2:].strip() for line in data.splitlines() if line.startswith("- ") and re.search(r"\d", line)),
        None,
    )
    if figure is None:
        return "The factory data holds no figures for this question."
    return f"According to the factory data: {figure}."


def usage_for(body: dict[str, Any], state: StandinState, output_tokens: int) -> dict[str, int]:
    system = body.get("system") or []
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) else list(system)
    cached_text = "".join(b.get("text", "") for b in blocks if b.get("cache_control"))
    rest = "".join(b.get("text", "") for b in blocks if not b.get("cache_control"))
    rest += "".join("".join(_texts(m["content"])) for m in body["messages"])
    write = read = 0
    if cached_text:
        with state.lock:
            if cached_text in state.cached_prefixes:
                read = estimate_tokens(cached_text)
            else:
                state.cached_prefixes.add(cached_text)
                write = estimate_tokens(cached_text)
    return {
        "input_tokens": estimate_tokens(rest),
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
    }


def validation_error(headers: Any, body: Any) -> tuple[int, str, str] | None:
    if not headers.get("x-api-key") and not headers.get("authorization"):
        return 401, "authentication_error", "x-api-key header is required"
    if not headers.get("anthropic-version"):
        return 400, "invalid_request_error", "anthropic-version header is required"
    if not isinstance(body, dict):
        return 400, "invalid_request_error", "body must be a JSON object"
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return 400, "invalid_request_error", f"{name}: Field required"
    messages = body["messages"]
    if not messages or messages[0].get("role") != "user":
        return 400, "invalid_request_error", "messages: first message must use the user role"
    for previous, current in zip(messages, messages[1:], strict=False):
        if previous.get("role") == current.get("role"):
            return 400, "invalid_request_error", "messages: roles must alternate between user and assistant"
        if previous.get("role") == "assistant" and isinstance(previous.get("content"), list):
            asked = {
                b.get("id")
                for b in previous["content"]
                if isinstance(b, dict) and b.get("type") == "tool_use"
            }
            content = current.get("content") if isinstance(current.get("content"), list) else []
            answered = {
                b.get("tool_use_id")
                for b in content
                if isinstance(b, dict) and b.get("type") == "tool_result"
            }
            if asked - answered:
                return (400, "invalid_request_error", "messages: tool_use ids were found without tool_result "
                        f"blocks immediately after: {', '.join(sorted(asked - answered))}")  # fmt: skip
    for tool in body.get("tools") or []:
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", str(tool.get("name", ""))):
            return (
                400,
                "invalid_request_error",
                "tools: each tool needs a name matching ^[a-zA-Z0-9_-]{1,64}$",
            )
        if (tool.get("input_schema") or {}).get("type") != "object":
            return 400, "invalid_request_error", f"tools.{tool.get('name')}.input_schema: type must be object"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandinServer

    def setup(self) -> None:
        super().setup()
        # Events are small writes: without this, Nagle's algorithm holds them back like no real API does.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        if not self.server.quiet:
            print(f"{self.address_string()} {format % args}", flush=True)

    # --- plumbing ---------------------------------------------------------------------------------
    def _read_json(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except json.JSONDecodeError:
            return None

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        request_id = f"req_standin_{uuid.uuid4().hex[:12]}"
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
        self._send_json(status, body, {"request-id": request_id, **(headers or {})})

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, name: str, payload: dict[str, Any]) -> None:
        self._chunk(f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode())

    # --- endpoints --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/control/requests":
            with state.lock:
                self._send_json(200, {"requests": list(state.requests)})
        elif self.path == "/control/health":
            self._send_json(200, {"status": "ok"})
        else:
            self._send_error(404, "not_found_error", f"{self.path} not found")

    def do_POST(self) -> None:
        state = self.server.state
        body = self._read_json()
        if self.path == "/control/mode":
            try:
                state.configure(body or {})
            except ValueError as error:
                self._send_json(400, {"error": str(error)})
                return
            self._send_json(200, {"mode": state.mode, "times": state.times})
        elif self.path == "/control/script":
            with state.lock:
                state.script = list((body or {}).get("turns", []))
            self._send_json(200, {"turns": len(state.script)})
        elif self.path == "/control/reset":
            state.reset()
            self._send_json(200, {"mode": "ok"})
        elif self.path == "/v1/messages":
            self._messages(body)
        else:
            self._send_error(404, "not_found_error", f"{self.path} not found")

    def _messages(self, body: Any) -> None:
        state = self.server.state
        record: dict[str, Any] = {
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "received_at": time.time(),
            "first_token_at": None,
        }
        invalid = validation_error(self.headers, body)
        mode = "invalid" if invalid else state.next_mode()
        record["mode"] = mode
        with state.lock:
            state.requests.append(record)
        if invalid:
            self._send_error(*invalid)
            return
        if mode in ERRORS:
            status, kind, message = ERRORS[mode]
            self._send_error(status, kind, message, {"retry-after": state.retry_after})
            return
        if mode == "drop":
            self._drop()
            return
        if mode == "slow":
            time.sleep(state.delay_seconds)
        turn = state.next_turn() or default_turn(body)
        record["turn"] = turn
        if turn.get("error") in ERRORS:
            status, kind, message = ERRORS[turn["error"]]
            self._send_error(status, kind, message, {"retry-after": "0"})
            return
        blocks, stop_reason = content_of(turn)
        fault = turn.get("fault") or ("cut" if mode == "cut_stream" else None)
        text = "".join(b.get("text", "") for b in blocks)
        usage = usage_for(
            body, state, output_tokens=max(1, len(re.findall(r"\S+\s*", text))) + 10 * len(blocks)
        )
        message_id = f"msg_standin_{uuid.uuid4().hex[:16]}"
        try:
            if body.get("stream"):
                self._stream(body, message_id, blocks, stop_reason, usage, record, fault=fault)
            elif fault == "cut":
                self._cut_json(body, message_id, text, usage)
            elif fault == "malformed":
                self._send_json(
                    200, {"id": message_id, "type": "message", "content": "not a list", "usage": usage}
                )
            else:
                self._send_json(
                    200,
                    {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": body["model"],
                        "content": blocks,
                        "stop_reason": stop_reason,
                        "stop_sequence": None,
                        "usage": usage,
                    },
                    {"request-id": f"req_standin_{uuid.uuid4().hex[:12]}"},
                )
                record["first_token_at"] = time.time()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _cut_json(self, body: dict[str, Any], message_id: str, text: str, usage: dict[str, int]) -> None:
        data = json.dumps({"id": message_id, "type": "message", "content": [{"type": "text", "text": text}]})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data) + 100))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2].encode())
        self.wfile.flush()
        self._drop()

    def _stream(
        self,
        body: dict[str, Any],
        message_id: str,
        blocks: list[dict[str, Any]],
        stop_reason: str,
        usage: dict[str, int],
        record: dict[str, Any],
        *,
        fault: str | None,
    ) -> None:
        state = self.server.state
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", f"req_standin_{uuid.uuid4().hex[:12]}")
        self.end_headers()
        if fault == "malformed":
            self._event("message_start", {"type": "message_start", "message": "not an object"})
            self._chunk(b"")
            return
        start_usage = {**usage, "output_tokens": 1}
        self._event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
        self._event("ping", {"type": "ping"})
        sent = 0
        total_words = sum(len(re.findall(r"\S+\s*", b.get("text", ""))) for b in blocks)
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                start = {"type": "text", "text": ""}
                pieces = [("text_delta", "text", word) for word in re.findall(r"\S+\s*", block["text"])]
            else:
                start = {**block, "input": {}}
                raw = json.dumps(block["input"])
                pieces = [
                    ("input_json_delta", "partial_json", raw[i : i + 12]) for i in range(0, len(raw), 12)
                ]
            self._event(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
            )
            for kind, field, piece in pieces:
                if (
                    kind == "text_delta"
                    and sent == max(1, total_words // 2)
                    and fault in ("cut", "overload_mid_stream")
                ):
                    if fault == "cut":
                        self._drop()
                    else:
                        overloaded = {"type": "overloaded_error", "message": "Overloaded"}
                        self._event("error", {"type": "error", "error": overloaded})
                        self._chunk(b"")
                    return
                self._event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": {"type": kind, field: piece}},
                )
                if kind == "text_delta":
                    sent += 1
                    if record["first_token_at"] is None:
                        record["first_token_at"] = time.time()
                    if state.chunk_delay_seconds:
                        time.sleep(state.chunk_delay_seconds)
            self._event("content_block_stop", {"type": "content_block_stop", "index": index})
        self._event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
        if fault == "no_final_newline":
            self._chunk(f"event: message_stop\ndata: {json.dumps({'type': 'message_stop'})}\n".encode())
        else:
            self._event("message_stop", {"type": "message_stop"})
        self._chunk(b"")


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: StandinState, *, quiet: bool = False) -> None:
        super().__init__(address, Handler)
        self.state = state
        self.quiet = quiet  # no access log (in-process use, e.g. `make eval-chat`)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.standins.claude", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", default="ok", choices=sorted(MODES))
    args = parser.parse_args(argv)
    server = StandinServer((args.host, args.port), StandinState(args.mode))
    print(f"Messages API stand-in on http://{args.host}:{args.port} (mode {args.mode})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
