"""The project's nginx config (sidecar/nginx.conf.template) run by the real nginx."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.analytics.accesslog import parse_line
from tests.analytics.support import nginx
from tests.infra.harness import run_stack
from tests.infra.helpers import envs
from tests.support.services import free_port

pytestmark = pytest.mark.nginx


class EchoHeaders(http.server.BaseHTTPRequestHandler):
    """The upstream: answers with the headers nginx passed on."""

    def do_GET(self) -> None:
        body = json.dumps({name.lower(): value for name, value in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[int]:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), EchoHeaders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port
    server.shutdown()
    server.server_close()


def test_a_request_via_tailscale_serve_is_logged_as_json_with_its_user(upstream: int, tmp_path: Path) -> None:
    access_log = tmp_path / "access.log"
    with nginx(tmp_path / "nginx", upstream, access_log, tmp_path) as web:
        response = httpx.get(
            f"{web.url}/api/prices?day=today",
            headers={
                "X-Forwarded-For": "100.101.2.20",
                "Tailscale-User-Login": "marta@chocolate.example",
                "Tailscale-User-Name": 'Marta "M" Ruiz',
                "User-Agent": "Firefox/140",
            },
        )
    passed_on = response.json()
    assert passed_on["tailscale-user-login"] == "marta@chocolate.example"
    assert passed_on["tailnet-client-address"] == "100.101.2.20"
    [line] = access_log.read_bytes().splitlines()
    entry = json.loads(line)
    assert entry["client"] == "100.101.2.20", "the tailnet client, not tailscale serve's 127.0.0.1"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/api/prices?day=today", 200)
    assert entry["user_login"] == "marta@chocolate.example" and entry["user_name"] == 'Marta "M" Ruiz'
    assert entry["user_agent"] == "Firefox/140" and entry["bytes"] > 0 and entry["duration"] >= 0
    record = parse_line(line + b"\n")
    assert record is not None and record["user_login"] == "marta@chocolate.example"


def test_identity_headers_from_anywhere_but_tailscale_serve_are_dropped(
    upstream: int, tmp_path: Path
) -> None:
    access_log = tmp_path / "access.log"
    forged = {"Tailscale-User-Login": "marta@chocolate.example", "X-Forwarded-For": "100.101.2.20"}
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with (
        nginx(tmp_path / "nginx", upstream, access_log, tmp_path) as web,
        httpx.Client(transport=transport) as other_peer,
    ):
        passed_on = other_peer.get(f"{web.url}/", headers=forged).json()
    assert "tailscale-user-login" not in passed_on
    entry = json.loads(access_log.read_bytes().splitlines()[0])
    assert entry["user_login"] == "" and entry["client"] == "127.0.0.2"


def test_no_header_an_asgi_server_takes_a_client_address_from_reaches_the_app(
    upstream: int, tmp_path: Path
) -> None:
    # A server with proxy headers on (uvicorn's default) rewrites its peer from X-Forwarded-For; the
    # app trusts no request that carries one, so nginx must never pass one on, whatever came in.
    forwarding = {"X-Forwarded-For": "10.213.0.2", "Forwarded": "for=10.213.0.2", "X-Real-IP": "10.213.0.2"}
    with nginx(tmp_path / "nginx", upstream, tmp_path / "access.log", tmp_path) as web:
        passed_on = httpx.get(f"{web.url}/", headers=forwarding).json()
    assert not {"x-forwarded-for", "forwarded", "x-real-ip"} & set(passed_on), passed_on
    assert passed_on["tailnet-client-address"] == "10.213.0.2", "serve's X-Forwarded-For, by our own name"


def test_tailnet_connections_serve_does_not_own_cannot_reach_nginx(upstream: int, tmp_path: Path) -> None:
    """Behind a userspace sidecar, tailscaled dials 127.0.0.1:<port> for a tailnet connection to a port
    that `serve` does not handle, passing on whatever the tailnet peer wrote (tailscale
    wgengine/netstack/netstack.go, acceptTCP: `case isTailscaleIP: dialIP = ipv4Loopback`). nginx listens
    where the prod stack puts it, and `serve` proxies there (tests/infra/test_trust_boundary.py)."""
    declared = envs(run_stack("prod").container("web-prod"))["CF_NGINX_LISTEN"]
    listen_host = declared.rsplit(":", 1)[0]
    access_log = tmp_path / "access.log"
    forged = {"Tailscale-User-Login": "marta@chocolate.example"}
    with nginx(tmp_path / "nginx", upstream, access_log, tmp_path, listen_host=listen_host) as web:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{web.port}/", headers=forged)
        via_serve = httpx.get(f"{web.url}/", headers={**forged, "X-Forwarded-For": "100.101.2.20"})
    assert via_serve.json()["tailscale-user-login"] == "marta@chocolate.example", (
        "serve connects from 127.0.0.1 to nginx's address and is still believed"
    )
    [line] = access_log.read_bytes().splitlines()
    assert json.loads(line)["client"] == "100.101.2.20"


def test_responses_through_nginx_carry_hsts(upstream: int, tmp_path: Path) -> None:
    # serve answers over HTTPS only; HSTS keeps the browser from ever trying plain HTTP again.
    with nginx(tmp_path / "nginx", upstream, tmp_path / "access.log", tmp_path) as web:
        ok = httpx.get(f"{web.url}/")
    assert ok.headers["strict-transport-security"] == "max-age=31536000"
