"""Snapshots stored before devices had routes, exit node and version stay readable after migration 2."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from app.analytics.classify import DeviceKind
from app.analytics.snapshots import latest_snapshot
from app.db import Database, schema_migrations


async def test_a_snapshot_of_the_first_schema_is_read_after_the_new_columns_are_added(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    taken = datetime(2026, 11, 25, 14, tzinfo=UTC)
    try:
        await db.migrate()
        async with db.begin() as conn:  # back to the first schema, with one stored snapshot
            for column in ("subnet_routes", "exit_node", "version"):
                await conn.execute(sa.text(f"ALTER TABLE tailnet_snapshot_devices DROP COLUMN {column}"))
            await conn.execute(
                schema_migrations.delete().where(
                    (schema_migrations.c.component == "analytics") & (schema_migrations.c.version == 2)
                )
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO tailnet_snapshots (id, taken_at, tailnet, owner_login, devices, online,"
                    " quota_used) VALUES (1, :t, 'chocolate.example', 'marta@chocolate.example', 1, 1, 1)"
                ),
                {"t": taken.isoformat()},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO tailnet_snapshot_devices (snapshot_id, node_id, taken_at, host_name,"
                    " dns_name, os, ips, tags, kind, user_login, user_name, online, is_self, rx_bytes,"
                    " tx_bytes, rx_delta, tx_delta) VALUES (1, 'n1', :t, 'marta-laptop', '', 'macOS', '[]',"
                    " '[]', 'own', 'marta@chocolate.example', 'Marta', 1, 0, 0, 0, 0, 0)"
                ),
                {"t": taken.isoformat()},
            )
        assert "analytics:2" in await db.migrate()
        stored = await latest_snapshot(db)
    finally:
        await db.dispose()
    assert stored is not None
    (laptop,) = stored.devices
    assert (laptop.host_name, laptop.kind) == ("marta-laptop", DeviceKind.OWN)
    assert (laptop.subnet_routes, laptop.exit_node, laptop.version) == ((), False, "")
