"""Snapshots of the tailnet: stored every 15 minutes so that history exists.

Each snapshot keeps one row per device (kind, user, online, traffic counters and the traffic since the
previous snapshot) and updates `tailnet_devices` (first and last seen). Uptime, traffic and users over
time are read back from these rows.

Traffic: tailscaled's RxBytes/TxBytes count from its own start and reset when it restarts. The delta
of a device is its counter minus the previous snapshot's, or the counter itself after a reset; a
device's first snapshot counts 0 (what it sent before analytics watched is unknown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.analytics.classify import HUMAN_KINDS, Device, DeviceKind, Quota
from app.analytics.tables import devices as devices_table
from app.analytics.tables import snapshot_devices, tailnet_snapshots
from app.db import Database, inserted_id


@dataclass(frozen=True)
class StoredSnapshot:
    """The last snapshot read back: its time, the owner it was classified with, its devices."""

    taken_at: datetime
    owner: str
    tailnet: str
    devices: list[Device]


def _counter_delta(current: int, previous: int | None) -> int:
    if previous is None:
        return 0
    return current - previous if current >= previous else current


async def store_snapshot(
    db: Database, taken_at: datetime, tailnet: str, owner: str, devices: Sequence[Device], quota: Quota
) -> int:
    """Store one snapshot; returns its id."""
    async with db.begin() as conn:
        previous = await _previous_counters(conn, [d.node_id for d in devices])
        snapshot_id = inserted_id(
            await conn.execute(
                tailnet_snapshots.insert().values(
                    taken_at=taken_at,
                    tailnet=tailnet,
                    owner_login=owner,
                    devices=len(devices),
                    online=sum(1 for d in devices if d.online),
                    quota_used=quota.used or 0,
                )
            )
        )
        if devices:
            rows = [_device_row(snapshot_id, taken_at, d, previous.get(d.node_id)) for d in devices]
            await conn.execute(snapshot_devices.insert(), rows)
            await conn.execute(_upsert_devices(conn.dialect.name, taken_at, devices))
    return int(snapshot_id)


def _device_row(
    snapshot_id: int, taken_at: datetime, device: Device, previous: tuple[int, int] | None
) -> dict[str, Any]:
    return {
        "snapshot_id": snapshot_id,
        "node_id": device.node_id,
        "taken_at": taken_at,
        "host_name": device.host_name[:200],
        "dns_name": device.dns_name[:300],
        "os": device.os[:50],
        "ips": list(device.ips),
        "tags": list(device.tags),
        "kind": device.kind.value,
        "user_login": device.user_login[:200],
        "user_name": device.user_name[:200],
        "online": device.online,
        "last_seen": device.last_seen,
        "key_expiry": device.key_expiry,
        "is_self": device.is_self,
        "subnet_routes": list(device.subnet_routes),
        "exit_node": device.exit_node,
        "version": device.version[:64],
        "rx_bytes": device.rx_bytes,
        "tx_bytes": device.tx_bytes,
        "rx_delta": _counter_delta(device.rx_bytes, previous[0] if previous else None),
        "tx_delta": _counter_delta(device.tx_bytes, previous[1] if previous else None),
    }


async def _previous_counters(conn: Any, node_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Each device's counters in the last snapshot that listed it."""
    if not node_ids:
        return {}
    last = (
        sa.select(snapshot_devices.c.node_id, sa.func.max(snapshot_devices.c.snapshot_id).label("sid"))
        .where(snapshot_devices.c.node_id.in_(node_ids))
        .group_by(snapshot_devices.c.node_id)
        .subquery()
    )
    rows = await conn.execute(
        sa.select(snapshot_devices.c.node_id, snapshot_devices.c.rx_bytes, snapshot_devices.c.tx_bytes).join(
            last,
            sa.and_(
                snapshot_devices.c.node_id == last.c.node_id, snapshot_devices.c.snapshot_id == last.c.sid
            ),
        )
    )
    return {row.node_id: (int(row.rx_bytes), int(row.tx_bytes)) for row in rows}


def _upsert_devices(dialect: str, taken_at: datetime, devices: Sequence[Device]) -> Any:
    inserts: dict[str, Any] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
    if dialect not in inserts:
        raise ValueError(f"analytics snapshots support SQLite and PostgreSQL, not {dialect!r}")
    rows = [
        {
            "node_id": d.node_id,
            "host_name": d.host_name[:200],
            "kind": d.kind.value,
            "user_login": d.user_login[:200],
            "first_seen": taken_at,
            "last_seen": taken_at if d.online else d.last_seen,
            "last_listed": taken_at,
        }
        for d in devices
    ]
    stmt = inserts[dialect](devices_table).values(rows)
    excluded = stmt.excluded
    current = devices_table.c
    newer_seen = sa.case(
        (current.last_seen.is_(None), excluded.last_seen),
        (excluded.last_seen.is_(None), current.last_seen),
        (excluded.last_seen > current.last_seen, excluded.last_seen),
        else_=current.last_seen,
    )
    return stmt.on_conflict_do_update(
        index_elements=["node_id"],
        set_={
            "host_name": excluded.host_name,
            "kind": excluded.kind,
            "user_login": excluded.user_login,
            "last_seen": newer_seen,
            "last_listed": excluded.last_listed,
        },
    )


async def latest_snapshot(db: Database) -> StoredSnapshot | None:
    """The most recent snapshot with its devices, or None before the first one."""
    async with db.connect() as conn:
        head = (
            await conn.execute(sa.select(tailnet_snapshots).order_by(tailnet_snapshots.c.id.desc()).limit(1))
        ).first()
        if head is None:
            return None
        rows = await conn.execute(
            sa.select(snapshot_devices)
            .where(snapshot_devices.c.snapshot_id == head.id)
            .order_by(snapshot_devices.c.is_self.desc(), sa.func.lower(snapshot_devices.c.host_name))
        )
        stored = [
            Device(
                node_id=row.node_id,
                host_name=row.host_name,
                dns_name=row.dns_name,
                os=row.os,
                ips=tuple(row.ips or ()),
                tags=tuple(row.tags or ()),
                kind=DeviceKind(row.kind),
                user_login=row.user_login,
                user_name=row.user_name,
                online=bool(row.online),
                last_seen=row.last_seen,
                rx_bytes=int(row.rx_bytes),
                tx_bytes=int(row.tx_bytes),
                key_expiry=row.key_expiry,
                is_self=bool(row.is_self),
                subnet_routes=tuple(row.subnet_routes or ()),
                exit_node=bool(row.exit_node),
                version=row.version,
            )
            for row in rows
        ]
    return StoredSnapshot(
        taken_at=head.taken_at, owner=head.owner_login, tailnet=head.tailnet, devices=stored
    )


async def first_seen_in(db: Database, devices: Sequence[Device]) -> tuple[int, int]:
    """(devices, users) of `devices` that no earlier snapshot listed; (0, 0) before the first one,
    which finds everything already there."""
    async with db.connect() as conn:
        known = await conn.execute(sa.select(devices_table.c.node_id, devices_table.c.user_login))
        rows = known.all()
    if not rows:
        return 0, 0
    node_ids = {row.node_id for row in rows}
    logins = {row.user_login for row in rows}
    new_devices = sum(1 for d in devices if d.node_id not in node_ids)
    new_users = {d.user_login for d in devices if d.kind in HUMAN_KINDS and d.user_login not in logins}
    return new_devices, len(new_users - {""})


def status_line(devices: Sequence[Device], quota: Quota) -> str:
    """One line for the hourly log: devices by kind, online count, quota."""
    by_kind = {kind: sum(1 for d in devices if d.kind is kind) for kind in DeviceKind}
    kinds = ", ".join(f"{kind.value} {count}" for kind, count in by_kind.items())
    online = sum(1 for d in devices if d.online)
    return (
        f"tailnet: {len(devices)} devices ({online} online; {kinds}); "
        f"users {'?' if quota.used is None else quota.used}/{quota.limit} of the plan ({quota.level.value})"
    )
