"""Who is asking: identities come only from places a client cannot forge.

- `tailscale serve` (in the sidecar) adds `Tailscale-User-Login` for requests from a user's device and
  replaces any value a client sent; nginx, in the sidecar's network namespace, passes it on.
- The app believes that header only when the request's direct peer (the TCP connection, never a
  header) is one of `CF_TRUSTED_PROXIES`: the web container's one address (the Pulumi program gives
  it a fixed address on `cf-<env>` and passes exactly that). From any other peer the header is
  ignored and the identity is the peer's address.
- A trusted proxy's request without the header (a tagged device) is identified by the tailnet
  address nginx sends in `Tailnet-Client-Address`, else by the proxy's address.

The peer must be the socket's address, whatever server runs the app. An ASGI server with proxy-header
handling on (uvicorn's default `--proxy-headers`, trusting `FORWARDED_ALLOW_IPS`, 127.0.0.1 by default)
rewrites the client address from `X-Forwarded-For`, and others read `Forwarded` or `X-Real-IP`. nginx
never sends these headers to the app (sidecar/nginx.conf.template clears them), so a request that
carries one did not come from the web container: it is never a trusted peer, nor a loopback one,
however the server was launched. Our launchers also turn proxy headers off (app/__main__.py).
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from app.settings import Settings

LOGIN_HEADER = "Tailscale-User-Login"
CLIENT_ADDRESS_HEADER = "Tailnet-Client-Address"
"""The tailnet client's address, set by nginx from what `tailscale serve` told it."""
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
"""Headers from which ASGI servers rewrite the client address; nginx sends none of them."""
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def peer_address(request: Request) -> str:
    return request.client.host if request.client else ""


def carries_forwarding_headers(request: Request) -> bool:
    """Whether the request names a client address in a header a server may have rewritten the peer from."""
    return any(name in request.headers for name in FORWARDING_HEADERS)


def _peer_in(request: Request, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    if carries_forwarding_headers(request):
        return False
    try:
        address = ipaddress.ip_address(peer_address(request))
    except ValueError:
        return False
    return any(address in network for network in networks)


def via_trusted_proxy(request: Request, settings: Settings) -> bool:
    return _peer_in(request, settings.trusted_proxy_networks)


def from_loopback(request: Request) -> bool:
    return _peer_in(request, LOOPBACK)


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
        client = request.headers.get(CLIENT_ADDRESS_HEADER, "").strip()
        if client:
            return f"addr:{client}"
    return f"addr:{peer}"
