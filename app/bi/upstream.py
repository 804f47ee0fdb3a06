"""What the REE, Open-Meteo and AEMET clients share: one error type and a JSON GET with timeouts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from app.errors import ExpectedFailure

Reason = Literal["timeout", "transport", "http_status", "malformed", "partial"]


class UpstreamError(ExpectedFailure):
    """An upstream answer that must not be stored; `reason` is the metric label, `source` the upstream."""

    def __init__(self, source: str, reason: Reason, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.reason = reason


async def get_json(
    http: httpx.AsyncClient,
    source: str,
    url: str,
    *,
    params: Mapping[str, str | int | float] | None = None,
    headers: Mapping[str, str] | None = None,
    request_timeout: httpx.Timeout | None = None,
) -> Any:
    """GET `url` and decode its JSON body; every failure becomes an `UpstreamError`."""
    try:
        response = await http.get(
            url,
            params=params,
            headers=headers,
            timeout=request_timeout if request_timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.TimeoutException as exc:
        raise UpstreamError(
            source, "timeout", f"no answer from {url} in time ({type(exc).__name__})"
        ) from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(source, "transport", f"request to {url} failed: {exc}") from exc
    if response.status_code != 200:
        raise UpstreamError(
            source, "http_status", f"{url} answered HTTP {response.status_code}: {response.text[:200]!r}"
        )
    try:
        return json.loads(response.text)
    except ValueError as exc:
        raise UpstreamError(source, "malformed", f"{url} answered a body that is not JSON: {exc}") from exc


def outbound_timeout(total_seconds: float, connect_seconds: float) -> httpx.Timeout:
    return httpx.Timeout(total_seconds, connect=min(connect_seconds, total_seconds))
