"""Who is asking: identities come only from places a client cannot forge.

- `tailscale serve` (in the sidecar) adds `Tailscale-User-Login` for requests from a user's device and
  replaces any value a client sent; nginx, in the sidecar's network namespace, passes it on.
- The app believes that header only when the request's direct peer (the TCP connection, never a
  header) is one of `CF_TRUSTED_PROXIES`: the web container's address or the `cf-<env>` network.
  From any other peer the header is ignored and the identity is the peer's address.
- A trusted proxy's request without the header (a tagged device) is identified by the last
  `X-Forwarded-For` entry, the address the proxy itself appended, else by the proxy's address.

The peer is the socket's address only while uvicorn does not rewrite it from X-Forwarded-For: the app
is served with `proxy_headers=False` (app/__main__.py).
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from app.settings import Settings

LOGIN_HEADER = "Tailscale-User-Login"
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def peer_address(request: Request) -> str:
    return request.client.host if request.client else ""


def _peer_in(peer: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


def via_trusted_proxy(request: Request, settings: Settings) -> bool:
    return _peer_in(peer_address(request), settings.trusted_proxy_networks)


def from_loopback(request: Request) -> bool:
    return _peer_in(peer_address(request), LOOPBACK)


def tailnet_login(request: Request, settings: Settings) -> str | None:
    """The Tailscale login of the request's user when a trusted proxy vouches for it, else None."""
    if not via_trusted_proxy(request, settings):
        return None
    return request.headers.get(LOGIN_HEADER, "").strip() or None


def caller_identity(request: Request, settings: Settings) -> str:
    """`user:<login>` for a tailnet user behind the sidecar, else `addr:<client address>`."""
    peer = peer_address(request) or "unknown"
    if via_trusted_proxy(request, settings):
        login = tailnet_login(request, settings)
        if login:
            return f"user:{login.lower()}"
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        if forwarded[-1]:
            return f"addr:{forwarded[-1]}"
    return f"addr:{peer}"
