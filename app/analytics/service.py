"""The current tailnet for endpoints and jobs: live when the LocalAPI answers, else the last snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.analytics.classify import Device, Quota, SeatRule, classify, quota, tailnet_owner, unknown_quota
from app.analytics.localapi import LocalAPIError
from app.analytics.snapshots import latest_snapshot
from app.context import AppContext
from app.db import utc_now
from app.settings import Settings


@dataclass(frozen=True)
class TailnetView:
    """Devices with their kinds; `stale` when they come from a stored snapshot, `age_seconds` old."""

    source: str
    stale: bool
    age_seconds: float | None
    taken_at: datetime | None
    tailnet: str
    owner: str
    devices: list[Device]
    error: str | None

    def quota(self, settings: Settings) -> Quota:
        """The seats; level `unknown` when there is no data at all (never "ok")."""
        if self.source == "none":
            return unknown_quota(seat_rule(settings))
        return quota(self.devices, self.owner, seat_rule(settings))

    def seats_lower_bound(self, settings: Settings) -> bool:
        """True when users may exist that this view cannot show: users whose devices this node's ACL
        hides (unless CF_ANALYTICS_SEATS_EVERY_USER_VISIBLE), or any who joined since a stale snapshot."""
        return self.stale or not settings.analytics_seats_every_user_visible


def seat_rule(settings: Settings) -> SeatRule:
    """The plan's seat rule from the settings (CF_ANALYTICS_PLAN_*, CF_ANALYTICS_QUOTA_*)."""
    return SeatRule(
        limit=settings.analytics_plan_user_limit,
        owner_takes_seat=settings.analytics_plan_owner_takes_seat,
        warning_ratio=settings.analytics_quota_warning_ratio,
        alert_ratio=settings.analytics_quota_alert_ratio,
    )


async def current_tailnet(ctx: AppContext) -> TailnetView:
    """Never raises for LocalAPI trouble: falls back to the last snapshot (or nothing), flagged stale."""
    settings = ctx.settings
    try:
        status = await ctx.tailnet.status()
    except LocalAPIError as exc:
        error = str(exc)
    else:
        owner = tailnet_owner(status, settings.analytics_tailnet_owner, settings.analytics_admins)
        return TailnetView(
            source="live",
            stale=False,
            age_seconds=0.0,
            taken_at=utc_now(),
            tailnet=status.current_tailnet.name if status.current_tailnet else "",
            owner=owner,
            devices=classify(status, owner),
            error=None,
        )
    stored = await latest_snapshot(ctx.db)
    if stored is None:
        return TailnetView("none", True, None, None, "", settings.analytics_tailnet_owner, [], error)
    return TailnetView(
        source="snapshot",
        stale=True,
        age_seconds=round((utc_now() - stored.taken_at).total_seconds(), 1),
        taken_at=stored.taken_at,
        tailnet=stored.tailnet,
        owner=stored.owner,
        devices=stored.devices,
        error=error,
    )
