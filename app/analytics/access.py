"""Who may read the analytics: identities come only from places a client cannot forge.

The analytics (and the VPN page) show other users' logins and devices, so by default only the tailnet
admins in `CF_ANALYTICS_ADMINS` may read them. A request's Tailscale login is believed only when the
request came through the web container (`CF_TRUSTED_PROXIES`, see app/identity.py).
Without a tailnet (`make run`, the `local` stack), `CF_ANALYTICS_ALLOW_LOCAL=true` lets loopback
clients read them.

A request carrying X-Forwarded-For, Forwarded or X-Real-IP is neither a trusted nor a loopback peer,
whatever server runs the app and however it handles proxy headers (app/identity.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from app.context import AppContext, get_context
from app.identity import from_loopback, tailnet_login, via_trusted_proxy
from app.settings import Settings


@dataclass(frozen=True)
class Viewer:
    """Who reads: a tailnet admin's login, or a local client (login empty)."""

    login: str
    local: bool


def authorize(request: Request, settings: Settings) -> Viewer:
    """The viewer, or HTTP 403 naming the setting that would grant access."""
    if via_trusted_proxy(request, settings):
        login = tailnet_login(request, settings)
        admins = {admin.casefold() for admin in settings.analytics_admins}
        if login is not None and login.casefold() in admins:
            return Viewer(login=login, local=False)
        who = login or "a device without a Tailscale user (tagged, or not via tailscale serve)"
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"analytics show other users' identities: {who} is not in CF_ANALYTICS_ADMINS",
        )
    if settings.analytics_allow_local and from_loopback(request):
        return Viewer(login="", local=True)
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        "analytics are for tailnet admins through the web container (CF_TRUSTED_PROXIES); "
        "without a tailnet set CF_ANALYTICS_ALLOW_LOCAL=true and connect from this machine",
    )


def is_analytics_reader(request: Request, settings: Settings) -> bool:
    """Whether the request may see tailnet identities and figures (the rule of `authorize`)."""
    try:
        authorize(request, settings)
    except HTTPException:
        return False
    return True


def require_analytics_reader(request: Request, ctx: Annotated[AppContext, Depends(get_context)]) -> Viewer:
    """FastAPI dependency for every endpoint that shows tailnet identities."""
    return authorize(request, ctx.settings)
