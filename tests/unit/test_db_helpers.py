"""UTC timestamps and upserts: the two helpers every feature's store relies on."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.db import Database, Migration, UTCDateTime, create_tables, upsert

readings = sa.Table(
    "readings",
    sa.MetaData(),
    sa.Column("ts", UTCDateTime(), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
)
COMPONENTS = [("demo", [Migration(1, "readings", create_tables(readings))])]


async def test_timestamps_come_back_aware_utc_and_upsert_replaces_by_key(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate(COMPONENTS)
        madrid_noon = datetime(2026, 7, 1, 12, tzinfo=timezone(timedelta(hours=2)))
        async with db.begin() as conn:
            await conn.execute(
                upsert(readings, [{"ts": madrid_noon, "value": 1.0}], dialect=conn.dialect.name)
            )
            await conn.execute(
                upsert(readings, [{"ts": madrid_noon, "value": 2.0}], dialect=conn.dialect.name)
            )
        async with db.connect() as conn:
            rows = (await conn.execute(sa.select(readings))).all()
            found = (
                await conn.execute(
                    sa.select(readings.c.value).where(readings.c.ts == datetime(2026, 7, 1, 10, tzinfo=UTC))
                )
            ).scalar()
        assert [(row.ts, row.value) for row in rows] == [(datetime(2026, 7, 1, 10, tzinfo=UTC), 2.0)]
        assert rows[0].ts.tzinfo is not None
        assert found == 2.0, "a UTC bind finds the row stored from a +02:00 value"
    finally:
        await db.dispose()


async def test_a_naive_timestamp_is_refused(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate(COMPONENTS)
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            async with db.begin() as conn:
                await conn.execute(readings.insert().values(ts=datetime(2026, 1, 1), value=1.0))
    finally:
        await db.dispose()
