"""A deployed environment in miniature, for the deploy tool's decision tests.

`FakeAppServer` answers on a real 127.0.0.1 port the way the app does (/health, /ready, the pages,
/chat/health, /analytics/quota-status, /version) for whichever image digest is "running", and answers
the way a broken image does for digests marked broken. `InMemoryStack` is the `StackOps` interface
held in memory: config in a dict, `up` makes the config's digest the one the server runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from infra.deploy.keys import DEPLOYED_DIGEST_OUTPUT, IMAGE_DIGEST_KEY, URL_OUTPUT
from infra.deploy.stack import StackUpError

PAGE = b"<!doctype html><html><head><title>page</title></head><body>ok</body></html>"


@dataclass
class Behaviour:
    """How the server answers while a digest runs."""

    smoke_broken: set[str] = field(default_factory=set)  # /health fine, /ready 500: fails smoke only
    dead: set[str] = field(default_factory=set)  # /health 503: never healthy


class FakeAppServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.running: str | None = None
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                server.requests.append(self.path)
                status, content_type, body = server.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def answer(self, path: str) -> tuple[int, str, bytes]:
        digest = self.running or ""
        if digest in self.behaviour.dead or not digest:
            return 503, "application/json", b'{"detail": "starting"}'
        if path == "/health":
            return 200, "application/json", b'{"status": "ok"}'
        if path == "/ready" and digest in self.behaviour.smoke_broken:
            return 500, "application/json", b'{"detail": "database unreachable"}'
        if path in ("/dashboard", "/vpn"):
            return 200, "text/html; charset=utf-8", PAGE
        documents: Mapping[str, object] = {
            "/ready": {"database": "ok", "scheduler": "running"},
            "/chat/health": {"status": "ok"},
            "/analytics/quota-status": {"detail": "only tailnet admins may read analytics"},
            "/version": {"version": "test", "image_digest": digest, "environment": "dev"},
        }
        if path not in documents:
            return 404, "application/json", b'{"detail": "Not Found"}'
        status = 403 if path.startswith("/analytics") else 200
        return status, "application/json", json.dumps(documents[path]).encode()

    def __enter__(self) -> FakeAppServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass
class UpCall:
    digest: str | None
    targets: list[str]


class InMemoryStack:
    """`StackOps` in memory, deploying to a `FakeAppServer`."""

    def __init__(
        self,
        name: str,
        server: FakeAppServer,
        config: Mapping[str, str] | None = None,
        failing_ups: Iterable[str] = (),
    ) -> None:
        self._name = name
        self.server = server
        self.config: dict[str, str] = dict(config or {})
        self.failing_ups = set(failing_ups)
        self.ups: list[UpCall] = []
        self.server.running = self.config.get(IMAGE_DIGEST_KEY)

    @property
    def name(self) -> str:
        return self._name

    def get_config(self, key: str) -> str | None:
        return self.config.get(key)

    def set_config(self, key: str, value: str) -> None:
        self.config[key] = value

    def up(self, targets: Sequence[str]) -> None:
        digest = self.config.get(IMAGE_DIGEST_KEY)
        self.ups.append(UpCall(digest=digest, targets=list(targets)))
        if digest in self.failing_ups:
            raise StackUpError(f"docker:index/container:Container app-{self._name}: image {digest} not found")
        self.server.running = digest

    def outputs(self) -> Mapping[str, object]:
        return {URL_OUTPUT: self.server.url, DEPLOYED_DIGEST_OUTPUT: self.server.running}
