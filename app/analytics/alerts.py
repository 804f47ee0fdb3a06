"""What an admin must act on in the tailnet, computed once and shown twice: as the list on /vpn
(`GET /analytics/alerts`) and as Prometheus metrics on /metrics, which the rules in
ops/prometheus/alerts.yml turn into the same alerts.

Events (thresholds are settings, CF_ANALYTICS_ALERT_*):
- device_joined / user_joined: a device or a user first seen within the last N hours (not in the first
  snapshot, which found everything already there);
- seats_warning / seats_limit: the seats reach the warning or the alert level;
- tagged_offline: a tagged node offline for more than N minutes;
- key_expiring: a node key that expires within N days (or has expired);
- localapi_unreachable: the LocalAPI proxy (or tailscaled behind it) does not answer;
- access_log_stale: no new access-log line stored for N minutes.

/metrics is not limited to admins, so the metrics carry counts and opaque node ids only, never a host
name or a login: the /vpn list names them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from app import metrics
from app.analytics.classify import HUMAN_KINDS, DeviceKind, Quota, QuotaLevel
from app.analytics.service import TailnetView, current_tailnet
from app.analytics.tables import access_requests, tailnet_snapshots
from app.analytics.tables import devices as devices_table
from app.context import AppContext
from app.db import Database, utc_now
from app.settings import Settings


class AlertKind(StrEnum):
    DEVICE_JOINED = "device_joined"
    USER_JOINED = "user_joined"
    SEATS_WARNING = "seats_warning"
    SEATS_LIMIT = "seats_limit"
    TAGGED_OFFLINE = "tagged_offline"
    KEY_EXPIRING = "key_expiring"
    LOCALAPI_UNREACHABLE = "localapi_unreachable"
    ACCESS_LOG_STALE = "access_log_stale"


SEVERITY = {
    AlertKind.DEVICE_JOINED: "info",
    AlertKind.USER_JOINED: "info",
    AlertKind.SEATS_WARNING: "warning",
    AlertKind.SEATS_LIMIT: "critical",
    AlertKind.TAGGED_OFFLINE: "warning",
    AlertKind.KEY_EXPIRING: "warning",
    AlertKind.LOCALAPI_UNREACHABLE: "critical",
    AlertKind.ACCESS_LOG_STALE: "warning",
}
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Alert:
    """One event: what (`kind`), about whom (`subject`: a host name, a login, a path), its figure
    (`value`: minutes offline, days left, seats used; None when the kind has none) and `at`: since when
    it holds (offline since, joined at, last line at) or, for a key, when it expires."""

    kind: AlertKind
    subject: str
    value: float | None
    at: datetime | None

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]


@dataclass(frozen=True)
class Joined:
    subject: str
    first_seen: datetime


@dataclass(frozen=True)
class NodeFigure:
    """A figure about one node: seconds offline, or seconds until its key expires."""

    node_id: str
    host_name: str
    seconds: float


@dataclass(frozen=True)
class TailnetHealth:
    """Everything the alerts are computed from, read once."""

    localapi_up: bool
    localapi_error: str | None
    seats: Quota
    devices_by_kind: dict[DeviceKind, int]
    new_devices: list[Joined]
    new_users: list[Joined]
    tagged_offline: list[NodeFigure]
    key_expiry: list[NodeFigure]
    access_log_path: str | None
    access_log_age_seconds: float | None


async def tailnet_health(ctx: AppContext) -> TailnetHealth:
    settings = ctx.settings
    now = utc_now()
    view = await current_tailnet(ctx)
    since = now - timedelta(hours=settings.analytics_alert_new_device_hours)
    new_devices, new_users = await _joined_since(ctx.db, since)
    log_path = settings.analytics_access_log_path
    return TailnetHealth(
        localapi_up=view.source == "live",
        localapi_error=view.error,
        seats=view.quota(settings),
        devices_by_kind={kind: sum(1 for d in view.devices if d.kind is kind) for kind in DeviceKind},
        new_devices=new_devices,
        new_users=new_users,
        tagged_offline=_tagged_offline(view, now),
        key_expiry=[
            NodeFigure(d.node_id, d.host_name, (d.key_expiry - now).total_seconds())
            for d in view.devices
            if d.key_expiry is not None
        ],
        access_log_path=str(log_path) if log_path is not None else None,
        access_log_age_seconds=await _newest_line_age(ctx.db, now) if log_path is not None else None,
    )


def _tagged_offline(view: TailnetView, now: datetime) -> list[NodeFigure]:
    """Tagged nodes that are offline, with how long since tailscaled last saw them (skipped when it
    never did: LastSeen is Go's zero time)."""
    return [
        NodeFigure(d.node_id, d.host_name, max((now - d.last_seen).total_seconds(), 0.0))
        for d in view.devices
        if d.kind is DeviceKind.TAGGED and not d.online and d.last_seen is not None
    ]


def _utc(value: Any) -> datetime | None:
    """SQLite returns an aggregate of a datetime column as text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


async def _joined_since(db: Database, since: datetime) -> tuple[list[Joined], list[Joined]]:
    """Devices and users first seen after `since`, leaving out what the first snapshot found."""
    devices = devices_table.c
    async with db.connect() as conn:
        first = _utc((await conn.execute(sa.select(sa.func.min(tailnet_snapshots.c.taken_at)))).scalar())
        if first is None:
            return [], []
        after = max(since, first)
        new_devices = await conn.execute(
            sa.select(devices.host_name, devices.first_seen)
            .where(devices.first_seen > after)
            .order_by(devices.first_seen, devices.host_name)
        )
        users = (
            sa.select(devices.user_login, sa.func.min(devices.first_seen).label("first_seen"))
            .where(devices.kind.in_([kind.value for kind in HUMAN_KINDS]), devices.user_login != "")
            .group_by(devices.user_login)
            .subquery()
        )
        new_users = await conn.execute(
            sa.select(users.c.user_login, users.c.first_seen)
            .where(users.c.first_seen > after)
            .order_by(users.c.first_seen)
        )
        return (
            [Joined(row.host_name, _utc(row.first_seen) or first) for row in new_devices],
            [Joined(row.user_login, _utc(row.first_seen) or first) for row in new_users],
        )


async def _newest_line_age(db: Database, now: datetime) -> float | None:
    async with db.connect() as conn:
        newest = _utc((await conn.execute(sa.select(sa.func.max(access_requests.c.ts)))).scalar())
    return None if newest is None else max((now - newest).total_seconds(), 0.0)


def alerts(health: TailnetHealth, settings: Settings, now: datetime | None = None) -> list[Alert]:
    """The alerts that hold now, most severe first."""
    now = now or utc_now()
    found: list[Alert] = []
    if not health.localapi_up:
        found.append(Alert(AlertKind.LOCALAPI_UNREACHABLE, settings.analytics_localapi_url, None, None))
    seats = health.seats
    if seats.level is QuotaLevel.ALERT:
        found.append(Alert(AlertKind.SEATS_LIMIT, "", seats.used, None))
    elif seats.level is QuotaLevel.WARNING:
        found.append(Alert(AlertKind.SEATS_WARNING, "", seats.used, None))
    offline_after = settings.analytics_alert_tagged_offline_minutes * 60
    for node in health.tagged_offline:
        if node.seconds > offline_after:
            since = now - timedelta(seconds=node.seconds)
            found.append(Alert(AlertKind.TAGGED_OFFLINE, node.host_name, round(node.seconds / 60), since))
    expiring_within = settings.analytics_alert_key_expiry_days * 86400
    for node in health.key_expiry:
        if node.seconds < expiring_within:
            days = math.floor(node.seconds / 86400)
            expires = now + timedelta(seconds=node.seconds)
            found.append(Alert(AlertKind.KEY_EXPIRING, node.host_name, days, expires))
    stale_after = settings.analytics_alert_access_log_stale_minutes * 60
    age = health.access_log_age_seconds
    if age is not None and age > stale_after:
        since = now - timedelta(seconds=age)
        found.append(Alert(AlertKind.ACCESS_LOG_STALE, health.access_log_path or "", round(age / 60), since))
    found += [Alert(AlertKind.USER_JOINED, j.subject, None, j.first_seen) for j in health.new_users]
    found += [Alert(AlertKind.DEVICE_JOINED, j.subject, None, j.first_seen) for j in health.new_devices]
    return sorted(found, key=lambda a: SEVERITY_RANK[a.severity])


def export_metrics(health: TailnetHealth, settings: Settings) -> None:
    """Set the tailnet gauges of /metrics from `health` (names in app/metrics.py)."""
    metrics.TAILNET_LOCALAPI_UP.set(1 if health.localapi_up else 0)
    seats = health.seats
    # NaN when unknown: every comparison with it is false, so no seat rule fires without data.
    metrics.TAILNET_SEATS_USED.set(math.nan if seats.used is None else seats.used)
    metrics.TAILNET_SEATS_LIMIT.set(seats.limit)
    metrics.TAILNET_SEATS_WARNING_AT.set(seats.warning_at)
    metrics.TAILNET_SEATS_ALERT_AT.set(seats.alert_at)
    for kind, count in health.devices_by_kind.items():
        metrics.TAILNET_DEVICES.labels(kind.value).set(count)
    metrics.TAILNET_NEW_DEVICES.set(len(health.new_devices))
    metrics.TAILNET_NEW_USERS.set(len(health.new_users))
    metrics.TAILNET_TAGGED_OFFLINE.clear()
    for node in health.tagged_offline:
        metrics.TAILNET_TAGGED_OFFLINE.labels(node.node_id).set(node.seconds)
    metrics.TAILNET_TAGGED_OFFLINE_ALERT.set(settings.analytics_alert_tagged_offline_minutes * 60)
    metrics.TAILNET_KEY_EXPIRY.clear()
    for node in health.key_expiry:
        metrics.TAILNET_KEY_EXPIRY.labels(node.node_id).set(node.seconds)
    metrics.TAILNET_KEY_EXPIRY_ALERT.set(settings.analytics_alert_key_expiry_days * 86400)
    age = health.access_log_age_seconds
    metrics.ACCESS_LOG_AGE.set(math.nan if age is None else age)
    metrics.ACCESS_LOG_STALE_ALERT.set(settings.analytics_alert_access_log_stale_minutes * 60)


async def refresh_metrics(ctx: AppContext) -> None:
    export_metrics(await tailnet_health(ctx), ctx.settings)
