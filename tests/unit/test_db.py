from pathlib import Path

import sqlalchemy as sa

from app.db import Database, Migration, create_tables

widgets = sa.Table("widgets", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))


def _add_colour(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE widgets ADD COLUMN colour TEXT"))


COMPONENT = [
    ("demo", [Migration(1, "widgets", create_tables(widgets)), Migration(2, "colour", _add_colour)]),
]


async def test_migrations_apply_once_and_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    try:
        assert await db.migrate(COMPONENT) == ["demo:1", "demo:2"]
        assert await db.migrate(COMPONENT) == [], "a second start applies nothing"
        async with db.connect() as conn:
            mode = (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar()
            columns = [row[1] for row in await conn.execute(sa.text("PRAGMA table_info(widgets)"))]
        assert mode == "wal"
        assert columns == ["id", "colour"]
    finally:
        await db.dispose()


async def test_a_failing_migration_leaves_earlier_ones_recorded(tmp_path: Path) -> None:
    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("ALTER TABLE nowhere ADD COLUMN x TEXT"))

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    try:
        components = [
            ("demo", [Migration(1, "widgets", create_tables(widgets)), Migration(2, "bad", broken)])
        ]
        try:
            await db.migrate(components)
        except sa.exc.OperationalError:
            pass
        else:
            raise AssertionError("the broken migration must raise")
        assert await db.migrate([("demo", components[0][1][:1])]) == []
    finally:
        await db.dispose()
