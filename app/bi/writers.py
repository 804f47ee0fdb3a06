"""Who may record production batches, and who each write is recorded as.

Batches feed the dashboard, the energy-per-kg figures and every chat answer, so a write needs a known
identity allowed by `CF_PRODUCTION_WRITERS`: Tailscale logins, or `group:<name>` entries resolved through
`CF_TAILNET_GROUPS` (the tailnet policy file's groups, passed by the Pulumi program).

- Over HTTP the identity is the request's Tailscale login, believed only from `CF_TRUSTED_PROXIES`
  (app/identity.py). Without a tailnet (`make run`), `CF_PRODUCTION_LOCAL_WRITER` names the writer of
  requests from this machine (loopback); it is the one identity that need not be in the list, since
  setting it is how the machine's operator says "I write from here".
- The CSV import names its writer with `--as LOGIN`, checked against the same setting.
- The sample data (`make sample-data`) is recorded as written by `sample-data` (`SAMPLE_WRITER` in
  app/bi/tables.py): a label, not a login.

The writer and the time are stored with each batch (`production_batches.written_by`, `created_at`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from app.bi.tables import WRITER_MAX_LENGTH
from app.context import AppContext, get_context
from app.identity import from_loopback, tailnet_login, via_trusted_proxy
from app.settings import Settings


class WriterRefused(Exception):
    """The identity may not record production batches; the message names the setting to change."""


def allowed_writers(settings: Settings) -> set[str]:
    """The logins of `CF_PRODUCTION_WRITERS`, groups resolved, case-folded."""
    logins: set[str] = set()
    for entry in settings.production_writers:
        members = settings.tailnet_groups.get(entry, []) if entry.startswith("group:") else [entry]
        logins.update(member.strip().casefold() for member in members if member.strip())
    return logins


def check_writer(login: str, settings: Settings) -> str:
    """`login` when it may write (stripped), else `WriterRefused` naming the setting."""
    login = login.strip()
    if not login:
        raise WriterRefused("no writer given: name a login of CF_PRODUCTION_WRITERS")
    if len(login) > WRITER_MAX_LENGTH:
        raise WriterRefused(f"the writer's login is longer than {WRITER_MAX_LENGTH} characters")
    local = settings.production_local_writer.strip()
    if login.casefold() in allowed_writers(settings) or (local and login.casefold() == local.casefold()):
        return login
    raise WriterRefused(
        f"{login} may not record production batches: add the login (or one of its groups in "
        "CF_TAILNET_GROUPS) to CF_PRODUCTION_WRITERS"
    )


def request_writer(request: Request, settings: Settings) -> str:
    """The writer of an HTTP request, or HTTP 403 saying which identity was seen and what to set."""
    if via_trusted_proxy(request, settings):
        login = tailnet_login(request, settings)
        if login is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "production writes need a Tailscale user (this device is tagged, or did not come through "
                "tailscale serve) allowed by CF_PRODUCTION_WRITERS",
            )
        try:
            return check_writer(login, settings)
        except WriterRefused as refused:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(refused)) from None
    if settings.production_local_writer.strip() and from_loopback(request):
        return settings.production_local_writer.strip()
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        "production writes need a Tailscale login allowed by CF_PRODUCTION_WRITERS, through the web "
        "container (CF_TRUSTED_PROXIES); without a tailnet set CF_PRODUCTION_LOCAL_WRITER and write "
        "from this machine",
    )


def require_production_writer(request: Request, ctx: Annotated[AppContext, Depends(get_context)]) -> str:
    """FastAPI dependency of every production write: the writer to record."""
    return request_writer(request, ctx.settings)
