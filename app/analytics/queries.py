"""Read-side of the analytics: access logs, dashboard usage, uptime and users over time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.analytics.classify import DeviceKind
from app.analytics.tables import access_requests, snapshot_devices, tailnet_snapshots
from app.analytics.tables import devices as devices_table
from app.bi.tariff import SPAIN as MADRID
from app.db import Database, utc_now

HUMAN_KINDS = (DeviceKind.OWN.value, DeviceKind.OTHER_USER.value)


def _day(value: Any) -> str:
    """`date(ts)` as ISO text on every backend (SQLite gives text, PostgreSQL a date)."""
    return value.isoformat() if isinstance(value, date) else str(value)


@dataclass(frozen=True)
class AccessPage:
    total: int
    rows: list[dict[str, Any]]
    next_cursor: int | None


def _contains(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def access_logs(
    db: Database,
    hours: int,
    limit: int,
    cursor: int | None,
    user: str | None = None,
    path: str | None = None,
) -> AccessPage:
    """Requests of the last `hours`, newest first; `cursor` is the id below which the next page starts.

    `user` keeps requests whose login or name contains it, `path` those whose path contains it
    (both case-insensitive).
    """
    since = utc_now() - timedelta(hours=hours)
    c = access_requests.c
    window = sa.and_(c.ts >= since)
    if user:
        pattern = _contains(user)
        window = sa.and_(
            window,
            sa.or_(
                sa.func.lower(c.user_login).like(pattern, escape="\\"),
                sa.func.lower(c.user_name).like(pattern, escape="\\"),
            ),
        )
    if path:
        window = sa.and_(window, sa.func.lower(c.path).like(_contains(path), escape="\\"))
    async with db.connect() as conn:
        total = (await conn.execute(sa.select(sa.func.count()).where(window))).scalar_one()
        query = sa.select(access_requests).where(window)
        if cursor is not None:
            query = query.where(c.id < cursor)
        rows = [dict(r._mapping) for r in await conn.execute(query.order_by(c.id.desc()).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return AccessPage(total=int(total), rows=rows, next_cursor=rows[-1]["id"] if more and rows else None)


def _hour_bucket(ts: Any, dialect: str) -> Any:
    """The UTC hour a timestamp falls in, on SQLite (text) and PostgreSQL (a timestamp)."""
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m-%d %H:00:00", ts)
    return sa.func.date_trunc("hour", ts)


def _madrid_date(hour: Any) -> date:
    """The Madrid calendar day of a UTC hour as the database returns it (text or datetime)."""
    moment = datetime.fromisoformat(hour) if isinstance(hour, str) else hour
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(MADRID).date()


def _per_madrid_day(rows: Any) -> list[dict[str, Any]]:
    """Requests, distinct users and distinct devices per Madrid day, from per-hour (user, device) counts.

    Hours, not days, come from the database so that a day is the factory's day (00:00 to 00:00 Madrid
    time, 23 or 25 hours on the DST changes), not a UTC one."""
    days: dict[date, dict[str, Any]] = {}
    for row in rows:
        day = days.setdefault(_madrid_date(row.hour), {"requests": 0, "users": set(), "devices": set()})
        day["requests"] += row.requests
        if row.user_login is not None:
            day["users"].add(row.user_login)
        day["devices"].add(row.device)
    return [
        {
            "date": day.isoformat(),
            "requests": d["requests"],
            "users": len(d["users"]),
            "devices": len(d["devices"]),
        }
        for day, d in sorted(days.items())
    ]


async def dashboard_usage(db: Database, days: int, top: int = 10) -> dict[str, Any]:
    """Requests, users and devices per Madrid day; top paths; per-user activity, over the last `days`."""
    since = utc_now() - timedelta(days=days)
    c = access_requests.c
    window = c.ts >= since
    device = sa.func.coalesce(c.device_node_id, c.client).label("device")
    async with db.connect() as conn:
        hour = _hour_bucket(c.ts, conn.dialect.name).label("hour")
        per_hour = await conn.execute(
            sa.select(hour, c.user_login, device, sa.func.count().label("requests"))
            .where(window)
            .group_by(hour, c.user_login, device)
        )
        days_rows = _per_madrid_day(per_hour)
        top_paths = [
            {"path": r.path, "requests": r.requests}
            for r in await conn.execute(
                sa.select(c.path, sa.func.count().label("requests"))
                .where(window)
                .group_by(c.path)
                .order_by(sa.desc("requests"), c.path)
                .limit(top)
            )
        ]
        users = [
            {
                "login": r.user_login,
                "name": r.user_name or "",
                "requests": r.requests,
                "devices": r.devices,
                "last_request_at": r.last_at,
            }
            for r in await conn.execute(
                sa.select(
                    c.user_login,
                    sa.func.max(c.user_name).label("user_name"),
                    sa.func.count().label("requests"),
                    sa.func.count(sa.distinct(device)).label("devices"),
                    sa.func.max(c.ts).label("last_at"),
                )
                .where(window, c.user_login.is_not(None))
                .group_by(c.user_login)
                .order_by(sa.desc("requests"), c.user_login)
            )
        ]
        anonymous = (
            await conn.execute(sa.select(sa.func.count()).where(window, c.user_login.is_(None)))
        ).scalar_one()
    for user in users:
        user["last_request_at"] = _aware(user["last_request_at"])
    return {"days": days_rows, "top_paths": top_paths, "users": users, "anonymous_requests": int(anonymous)}


def _aware(value: Any) -> datetime | None:
    """Aggregates (max of a UTCDateTime) come back untyped: text on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


async def uptime(db: Database, days: int) -> dict[str, Any]:
    """Per device: share of snapshots it was online in, traffic, first/last seen; users per day."""
    since = utc_now() - timedelta(days=days)
    sd = snapshot_devices.c
    window = sd.taken_at >= since
    async with db.connect() as conn:
        snapshots = (
            await conn.execute(sa.select(sa.func.count()).where(tailnet_snapshots.c.taken_at >= since))
        ).scalar_one()
        per_device = await conn.execute(
            sa.select(
                sd.node_id,
                sa.func.count().label("samples"),
                sa.func.sum(sa.case((sd.online, 1), else_=0)).label("online_samples"),
                sa.func.sum(sd.rx_delta).label("rx"),
                sa.func.sum(sd.tx_delta).label("tx"),
                devices_table.c.host_name,
                devices_table.c.kind,
                devices_table.c.user_login,
                devices_table.c.first_seen,
                devices_table.c.last_seen,
            )
            .join(devices_table, devices_table.c.node_id == sd.node_id)
            .where(window)
            .group_by(
                sd.node_id,
                devices_table.c.host_name,
                devices_table.c.kind,
                devices_table.c.user_login,
                devices_table.c.first_seen,
                devices_table.c.last_seen,
            )
            .order_by(sa.func.lower(devices_table.c.host_name))
        )
        device_rows = [
            {
                "node_id": r.node_id,
                "host_name": r.host_name,
                "kind": r.kind,
                "user_login": r.user_login,
                "samples": int(r.samples),
                "online_samples": int(r.online_samples or 0),
                "uptime_pct": round(100.0 * int(r.online_samples or 0) / int(r.samples), 1),
                "rx_bytes": int(r.rx or 0),
                "tx_bytes": int(r.tx or 0),
                "first_seen": r.first_seen,
                "last_seen": r.last_seen,
            }
            for r in per_device
        ]
        day = sa.func.date(sd.taken_at).label("day")
        users_per_day = [
            {"date": _day(r.day), "users": int(r.users), "online_devices": int(r.devices)}
            for r in await conn.execute(
                sa.select(
                    day,
                    sa.func.count(sa.distinct(sd.user_login)).label("users"),
                    sa.func.count(sa.distinct(sd.node_id)).label("devices"),
                )
                .where(window, sd.online, sd.kind.in_(HUMAN_KINDS))
                .group_by(day)
                .order_by(day)
            )
        ]
    return {"snapshots": int(snapshots), "devices": device_rows, "users_per_day": users_per_day}
