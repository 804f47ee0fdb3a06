"""What the REE and Open-Meteo stand-ins share: a threaded HTTP server with modes and a request log.

Control endpoints (for tests; the code under test never calls them):

- `POST /control/mode` `{"mode": M, "times": N?, "delay_seconds": S?}`: the next N requests (all, when N
  is absent) behave as M. Every stand-in knows `ok`, `malformed`, `partial`, `server_error` (HTTP 500),
  `unavailable` (HTTP 503), `slow` (a correct answer after S seconds), `truncated` (a JSON body cut
  mid-way) plus its own.
- `GET /control/requests`: every request received: path, query parameters, mode applied.
- `POST /control/reset`: mode ok, request log emptied.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

COMMON_MODES = {"ok", "malformed", "partial", "server_error", "unavailable", "slow", "truncated"}

#: answer(path, query, mode) -> (HTTP status, JSON-able body); query values are the last given.
Answer = Callable[[str, dict[str, str], str], tuple[int, Any]]


class ReplayState:
    def __init__(self, modes: set[str]) -> None:
        self.modes = modes
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.configure({"mode": "ok"})

    def configure(self, control: dict[str, Any]) -> None:
        mode = control.get("mode", "ok")
        if mode not in self.modes:
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(self.modes)}")
        with self.lock:
            self.mode = mode
            self.times: int | None = control.get("times")
            self.delay_seconds = float(control.get("delay_seconds", 5.0))

    def next_mode(self) -> tuple[str, float]:
        with self.lock:
            mode = self.mode
            if self.times is not None:
                self.times -= 1
                if self.times <= 0:
                    self.mode, self.times = "ok", None
            return mode, self.delay_seconds


def serve(name: str, answer: Answer, extra_modes: set[str], port: int, host: str = "127.0.0.1") -> None:
    state = ReplayState(COMMON_MODES | extra_modes)

    class Handler(BaseHTTPRequestHandler):
        server_version = name
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload, ensure_ascii=False).encode())

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if path == "/control/mode":
                try:
                    state.configure(body)
                except ValueError as exc:
                    self._json(400, {"error": str(exc)})
                    return
                self._json(200, {"mode": state.mode})
            elif path == "/control/reset":
                state.configure({"mode": "ok"})
                with state.lock:
                    state.requests.clear()
                self._json(200, {"mode": "ok"})
            else:
                self._json(404, {"error": f"no POST {path}"})

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            parts = urlsplit(self.path)
            if parts.path == "/control/requests":
                with state.lock:
                    self._json(200, list(state.requests))
                return
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            mode, delay = state.next_mode()
            with state.lock:
                state.requests.append({"path": parts.path, "query": query, "mode": mode, "at": time.time()})
            if mode == "slow":
                time.sleep(delay)
                mode = "ok"
            if mode == "server_error":
                self._json(
                    500, {"errors": [{"code": 500, "status": "500", "title": "Internal Server Error"}]}
                )
                return
            if mode == "unavailable":
                self._send(503, b"<html><body>503 Service Temporarily Unavailable</body></html>", "text/html")
                return
            status, payload = answer(parts.path, query, "ok" if mode == "truncated" else mode)
            body = json.dumps(payload, ensure_ascii=False).encode()
            if mode == "truncated" and status == 200:
                body = body[: len(body) // 2]
            self._send(status, body)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    finally:
        server.server_close()


def port_argument(description: str) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    return int(parser.parse_args().port)
