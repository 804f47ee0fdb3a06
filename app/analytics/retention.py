"""Old history is deleted after CF_ANALYTICS_RETENTION_DAYS, a bounded chunk per transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from app.analytics.tables import access_requests, snapshot_devices, tailnet_snapshots
from app.db import Database, utc_now

CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class Pruned:
    requests: int
    snapshots: int


async def _delete_in_chunks(
    db: Database, table: sa.Table, id_column: sa.Column[int], where: sa.ColumnElement[bool]
) -> int:
    """Delete matching rows in chunks, so a large backlog never holds the database for long."""
    deleted = 0
    while True:
        async with db.begin() as conn:
            ids = [row[0] for row in await conn.execute(sa.select(id_column).where(where).limit(CHUNK_ROWS))]
            if not ids:
                return deleted
            if table is tailnet_snapshots:
                await conn.execute(snapshot_devices.delete().where(snapshot_devices.c.snapshot_id.in_(ids)))
            await conn.execute(table.delete().where(id_column.in_(ids)))
        deleted += len(ids)


async def prune_history(db: Database, retention_days: int) -> Pruned:
    """Delete requests and snapshots older than `retention_days`."""
    cutoff = utc_now() - timedelta(days=retention_days)
    requests = await _delete_in_chunks(
        db, access_requests, access_requests.c.id, access_requests.c.ts < cutoff
    )
    snapshots = await _delete_in_chunks(
        db, tailnet_snapshots, tailnet_snapshots.c.id, tailnet_snapshots.c.taken_at < cutoff
    )
    return Pruned(requests=requests, snapshots=snapshots)
