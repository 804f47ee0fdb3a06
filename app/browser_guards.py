"""What keeps a browser from turning the app against its own user.

A tailnet user's identity is ambient: `tailscale serve` adds their login to every request their browser
sends to the dashboard, much as a cookie would. So a page on any other site that the user opens could
make their browser write a production batch, or ask questions on their quota, in their name. Two guards
stop that, before any route runs:

- `CrossSiteWrites`: a write (POST, PUT, PATCH, DELETE) whose `Origin` names another host is refused
  with 403; browsers send `Origin` with every cross-origin write, and `Origin: null` (sandboxed frames,
  some redirects) is refused too. Its body must be JSON (`application/json` or `+json`), else 415: a
  form, `text/plain`, or a body with no type at all is what a cross-site page can send without a CORS
  preflight, and the app answers no preflight (it sends no CORS headers).
- `NoSniff`: `X-Content-Type-Options: nosniff` on every response, so a JSON body (which may hold a
  product name or a login) is never rendered as HTML. The pages set it with the rest of their security
  headers (app/pages.py).
"""

from __future__ import annotations

import json
from email.message import Message as MimeHeader
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    header = MimeHeader()
    header["content-type"] = content_type
    subtype = header.get_content_subtype()
    return header.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _same_host(origin: str, host: str | None) -> bool:
    """Whether `Origin` names the host the request was sent to (ports aside: nginx passes `$host`)."""
    if origin == "null" or not host:
        return False
    origin_host = urlsplit(origin).hostname
    request_host = urlsplit(f"//{host}").hostname
    return origin_host is not None and origin_host == request_host


class CrossSiteWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and not _same_host(origin, headers.get("host")):
            await _refuse(send, 403, f"cross-site write refused: Origin {origin[:200]!r} is not this site")
            return
        if not _is_json(headers.get("content-type")):
            await _refuse(send, 415, "the request body must be JSON: send Content-Type: application/json")
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_header)
