"""Who may read the analytics: identities come only from places a client cannot forge.

The analytics (and the VPN page) show other users' logins and devices, so by default only the tailnet
admins in `CF_ANALYTICS_ADMINS` may read them. A request's Tailscale login is believed only when the
request's direct peer (the TCP connection, not a header) is one of `CF_ANALYTICS_TRUSTED_PROXIES`: the
web container, whose nginx passes on the header that `tailscale serve` set and drops any other.
Without a tailnet (`make run`, the `local` stack), `CF_ANALYTICS_ALLOW_LOCAL=true` lets loopback
clients read them.

The direct peer is the connection's address only while uvicorn does not rewrite it from
X-Forwarded-For: the app is served with `proxy_headers=False` (app/__main__.py).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from app.context import AppContext, get_context
from app.settings import Settings

LOGIN_HEADER = "Tailscale-User-Login"


@dataclass(frozen=True)
class Viewer:
    """Who reads: a tailnet admin's login, or a local client (login empty)."""

    login: str
    local: bool


def _peer_in(peer: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for entry in networks:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def tailnet_login(request: Request, settings: Settings) -> str | None:
    """The Tailscale login of the request's user when a trusted proxy vouches for it, else None."""
    peer = request.client.host if request.client else ""
    if not _peer_in(peer, settings.analytics_trusted_proxies):
        return None
    login = request.headers.get(LOGIN_HEADER, "").strip()
    return login or None


def authorize(request: Request, settings: Settings) -> Viewer:
    """The viewer, or HTTP 403 naming the setting that would grant access."""
    peer = request.client.host if request.client else ""
    if _peer_in(peer, settings.analytics_trusted_proxies):
        login = tailnet_login(request, settings)
        admins = {admin.casefold() for admin in settings.analytics_admins}
        if login is not None and login.casefold() in admins:
            return Viewer(login=login, local=False)
        who = login or "a device without a Tailscale user (tagged, or not via tailscale serve)"
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"analytics show other users' identities: {who} is not in CF_ANALYTICS_ADMINS",
        )
    if settings.analytics_allow_local and _peer_in(peer, ["127.0.0.0/8", "::1/128"]):
        return Viewer(login="", local=True)
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        "analytics are for tailnet admins through the web container (CF_ANALYTICS_TRUSTED_PROXIES); "
        "without a tailnet set CF_ANALYTICS_ALLOW_LOCAL=true and connect from this machine",
    )


def require_analytics_reader(request: Request, ctx: Annotated[AppContext, Depends(get_context)]) -> Viewer:
    """FastAPI dependency for every endpoint that shows tailnet identities."""
    return authorize(request, ctx.settings)
