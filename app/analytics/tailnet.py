"""The tailnet as the app sees it: live from the LocalAPI when it answers, else the last snapshot.

`TailnetService` is the long-lived object in `AppContext.tailnet`. After a failed LocalAPI call it
stops asking for `analytics_localapi_retry_after_seconds`, so a down or slow sidecar costs one timeout,
not one per request.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from app.analytics.localapi import LocalAPIClient, LocalAPIError, TailnetStatus, WhoIs
from app.settings import Settings

log = logging.getLogger(__name__)

# A status fetched this recently is reused: a dashboard opening several panels asks once.
LIVE_REUSE_SECONDS = 5.0


@dataclass(frozen=True)
class Identity:
    """Who is behind a tailnet address, from whois."""

    user_login: str
    user_name: str
    node_id: str
    host_name: str


class TailnetService:
    def __init__(self, client: LocalAPIClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._failed_at: float | None = None
        self.last_error: str | None = None
        self._live: tuple[float, TailnetStatus] | None = None
        self._whois: dict[str, tuple[float, Identity | None]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> TailnetService:
        client = LocalAPIClient(settings.analytics_localapi_url, settings.analytics_localapi_timeout_seconds)
        return cls(client, settings)

    def _backing_off(self) -> bool:
        if self._failed_at is None:
            return False
        return time.monotonic() - self._failed_at < self.settings.analytics_localapi_retry_after_seconds

    async def status(self, *, fresh: bool = False) -> TailnetStatus:
        """The live status; raises `LocalAPIError` when the LocalAPI fails or failed a moment ago.

        `fresh` (the snapshot job) asks even while backing off, and neither reuses nor keeps a status
        for reuse: the reuse only absorbs bursts of page requests.
        """
        now = time.monotonic()
        if not fresh:
            if self._live is not None and now - self._live[0] < LIVE_REUSE_SECONDS:
                return self._live[1]
            if self._backing_off():
                raise LocalAPIError(f"LocalAPI failed recently: {self.last_error}")
        try:
            status = await self.client.status()
        except LocalAPIError as exc:
            self._record_failure(exc)
            raise
        self._failed_at = None
        self.last_error = None
        if not fresh:
            self._live = (time.monotonic(), status)
        return status

    async def whois(self, addr: str) -> Identity | None:
        """User and device behind `addr`, cached; None when unknown or the LocalAPI fails."""
        now = time.monotonic()
        cached = self._whois.get(addr)
        if cached is not None and now < cached[0]:
            return cached[1]
        if self._backing_off():
            return None
        try:
            answer = await self.client.whois(addr)
        except LocalAPIError as exc:
            self._record_failure(exc)
            return None
        identity = _identity(answer) if answer is not None else None
        if len(self._whois) > 10_000:
            self._whois.clear()
        self._whois[addr] = (now + self.settings.analytics_whois_cache_seconds, identity)
        return identity

    def _record_failure(self, exc: LocalAPIError) -> None:
        if self.last_error != str(exc):
            log.warning("tailnet LocalAPI: %s", exc)
        self._failed_at = time.monotonic()
        self.last_error = str(exc)
        self._live = None

    async def aclose(self) -> None:
        await self.client.aclose()


def _identity(answer: WhoIs) -> Identity:
    tagged = bool(answer.node.tags)
    return Identity(
        user_login="" if tagged else answer.user_profile.login_name,
        user_name="" if tagged else answer.user_profile.display_name,
        node_id=answer.node.stable_id or str(answer.node.id),
        host_name=answer.node.host_name,
    )
