"""A stand-in for tailscaled's LocalAPI on a unix socket: `python -m tests.standins.localapi --socket P`.

It behaves like tailscaled where the app and the proxy sidecar can tell:
- the JSON shapes: GET /localapi/v0/status is `ipnstate.Status` from a fixture file (re-read on every
  request, so a test can change the tailnet), `?peers=false` leaves out the peers; GET
  /localapi/v0/whois?addr=IP[:port] is an `apitype.WhoIsResponse` built from the same status, 404 when
  no node has the address;
- 403 for a Host other than `local-tailscaled.sock` (or empty) and for any Origin or Referer;
- writes (POST, PUT, PATCH, DELETE, e.g. /localapi/v0/prefs) only for a connecting uid 0 or this
  process's own uid, read from the socket with SO_PEERCRED; others get 403, as on Linux;
- failure modes for resilience tests: `down` (connections are closed unanswered), `slow` (answers
  after --slow-seconds), `garbage` (200 with a body that is not JSON). `--mode-file` is re-read on every
  request, so a test switches modes while everything runs.

Every request is logged to stderr as `localapi: <uid> <method> <path> -> <status>`.
"""

from __future__ import annotations

import argparse
import http.server
import ipaddress
import json
import os
import socket
import socketserver
import struct
import sys
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOCALAPI_HOST = "local-tailscaled.sock"
DEFAULT_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tailscale"
MODES = ("normal", "down", "slow", "garbage")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a unix socket (SO_PEERCRED: pid, uid, gid)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def whois_response(status: dict[str, Any], addr: str) -> dict[str, Any] | None:
    """`apitype.WhoIsResponse` for the node with `addr` (IP or IP:port), as tailscaled builds it."""
    host = addr
    if addr.startswith("["):
        host = addr[1:].split("]", 1)[0]
    elif addr.count(":") == 1:
        host = addr.split(":", 1)[0]
    try:
        wanted = ipaddress.ip_address(host)
    except ValueError:
        return None
    nodes = [status.get("Self") or {}, *(status.get("Peer") or {}).values()]
    for node in nodes:
        if any(ipaddress.ip_address(ip) == wanted for ip in node.get("TailscaleIPs") or []):
            user = (status.get("User") or {}).get(str(node.get("UserID")), {})
            return {
                "Node": {
                    "ID": zlib.crc32(str(node.get("ID", "")).encode()),
                    "StableID": node.get("ID", ""),
                    "Name": node.get("DNSName", ""),
                    "User": node.get("UserID", 0),
                    "Key": node.get("PublicKey", ""),
                    "Addresses": [f"{ip}/{32 if '.' in ip else 128}" for ip in node.get("TailscaleIPs", [])],
                    "AllowedIPs": node.get("AllowedIPs") or [],
                    "Hostinfo": {"OS": node.get("OS", ""), "Hostname": node.get("HostName", "")},
                    "Created": node.get("Created", ""),
                    "Tags": node.get("Tags") or None,
                    "ComputedName": node.get("HostName", ""),
                    "ComputedNameWithHost": node.get("HostName", ""),
                },
                "UserProfile": {
                    "ID": user.get("ID", node.get("UserID", 0)),
                    "LoginName": user.get("LoginName", ""),
                    "DisplayName": user.get("DisplayName", ""),
                    "ProfilePicURL": user.get("ProfilePicURL", ""),
                },
                "CapMap": {},
            }
    return None


class LocalAPIHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalAPIServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _log(self, status: int) -> None:
        print(f"localapi: {self.uid} {self.command} {self.path} -> {status}", file=sys.stderr, flush=True)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self._log(status)

    def _error(self, status: int, message: str) -> None:
        self._send(status, (message + "\n").encode(), "text/plain; charset=utf-8")

    def _json(self, payload: Any) -> None:
        self._send(200, json.dumps(payload, indent=1).encode())

    def _handle(self) -> None:
        self.uid = peer_uid(self.connection)
        mode = self.server.current_mode()
        if mode == "down":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            self._log(0)
            return
        if mode == "slow":
            time.sleep(self.server.slow_seconds)
        host = self.headers.get("Host", "")
        if host not in ("", LOCALAPI_HOST):
            self._error(403, "invalid localapi request: bad Host")
            return
        if self.headers.get("Origin") or self.headers.get("Referer"):
            self._error(403, "invalid localapi request: Origin or Referer")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.command in WRITE_METHODS and self.uid not in (0, os.getuid()):
            self._error(403, "write access denied")
            return
        if mode == "garbage":
            self._send(200, b'{"Self": {"HostName": [1, 2,\x00\xff garbage', "application/json")
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if self.command == "GET" and url.path == "/localapi/v0/status":
            status = self.server.status()
            if query.get("peers", ["true"])[0] == "false":
                status = {**status, "Peer": None}
            self._json(status)
        elif self.command == "GET" and url.path == "/localapi/v0/whois":
            addr = query.get("addr", [""])[0]
            answer = whois_response(self.server.status(), addr)
            if answer is None:
                self._error(404, f"no match for IP:port {addr!r}")
            else:
                self._json(answer)
        elif url.path == "/localapi/v0/prefs" and self.command in ("GET", "PATCH"):
            self._json({"ControlURL": "https://controlplane.tailscale.com", "WantRunning": True})
        else:
            self._error(404, "not found")

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET


class LocalAPIServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, socket_path: Path, fixtures: Path, mode: str, mode_file: Path | None, slow: float):
        self.fixtures = fixtures
        self.mode = mode
        self.mode_file = mode_file
        self.slow_seconds = slow
        if socket_path.exists() or socket_path.is_symlink():
            socket_path.unlink()
        super().__init__(str(socket_path), LocalAPIHandler)
        # tailscaled's socket is 0666: who may write is decided by the peer's uid, not file modes.
        os.chmod(socket_path, 0o666)  # noqa: S103

    def current_mode(self) -> str:
        if self.mode_file is not None and self.mode_file.exists():
            mode = self.mode_file.read_text().strip() or "normal"
            return mode if mode in MODES else "garbage"
        return self.mode

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.fixtures / "status.json").read_text())
        return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.standins.localapi", description=__doc__)
    parser.add_argument("--socket", type=Path, required=True, help="unix socket path to listen on")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="dir with status.json")
    parser.add_argument("--mode", choices=MODES, default="normal")
    parser.add_argument("--mode-file", type=Path, default=None, help="file whose content sets the mode")
    parser.add_argument("--slow-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    server = LocalAPIServer(args.socket, args.fixtures, args.mode, args.mode_file, args.slow_seconds)
    print(f"localapi: listening on {args.socket}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
