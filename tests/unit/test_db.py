from pathlib import Path

import sqlalchemy as sa

from app.db import Database, Migration, create_tables

widgets = sa.Table("widgets", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))


def _add_colour(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE widgets ADD COLUMN colour TEXT"))


COMPONENT = [
    ("demo", [Migration(1, "widgets", create_tables(widgets)), Migration(2, "colour", _add_colour)]),
]


async def test_migrations_apply_once(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert await db.migrate(COMPONENT) == ["demo:1", "demo:2"]
        assert await db.migrate(COMPONENT) == [], "a second start applies nothing"
        async with db.connect() as conn:
            columns = await conn.run_sync(
                lambda c: [col["name"] for col in sa.inspect(c).get_columns("widgets")]
            )
        assert columns == ["id", "colour"]
    finally:
        await db.dispose()


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    try:
        async with db.connect() as conn:
            mode = (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar()
        assert mode == "wal"
    finally:
        await db.dispose()


async def test_a_failing_migration_leaves_earlier_ones_recorded(database_url: str) -> None:
    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("ALTER TABLE nowhere ADD COLUMN x TEXT"))

    db = Database(database_url)
    try:
        components = [
            ("demo", [Migration(1, "widgets", create_tables(widgets)), Migration(2, "bad", broken)])
        ]
        try:
            await db.migrate(components)
        except sa.exc.DBAPIError:
            pass
        else:
            raise AssertionError("the broken migration must raise")
        assert await db.migrate([("demo", components[0][1][:1])]) == []
    finally:
        await db.dispose()


async def test_batches_stored_before_writers_were_recorded_keep_working_after_the_migration(
    database_url: str,
) -> None:
    """A database of the first schema (no `written_by`), with an API batch and a sample batch, migrated."""
    from datetime import UTC, datetime, timedelta

    from app.bi.queries import list_batches
    from app.db import UTCDateTime, schema_migrations

    first_schema = sa.Table(
        "production_batches",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", UTCDateTime(), nullable=False, index=True),
        sa.Column("ended_at", UTCDateTime(), nullable=False),
        sa.Column("product", sa.String(100), nullable=False),
        sa.Column("kg", sa.Float, nullable=False),
        sa.Column("kwh", sa.Float, nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    start = datetime(2026, 6, 8, 5, tzinfo=UTC)
    db = Database(database_url)
    try:
        async with db.begin() as conn:
            await conn.run_sync(lambda c: schema_migrations.create(c, checkfirst=True))
            await conn.run_sync(first_schema.create)
            await conn.execute(
                schema_migrations.insert().values(component="bi", version=1, description="first schema")
            )
            row = {"ended_at": start + timedelta(hours=4), "kg": 400.0, "kwh": 220.0, "created_at": start}
            await conn.execute(
                first_schema.insert(),
                [
                    row | {"started_at": start, "product": "dark 70%", "source": "api"},
                    row | {"started_at": start, "product": "white", "source": "sample"},
                ],
            )
        assert "bi:2" in await db.migrate()
        batches = await list_batches(db, start, start + timedelta(days=1))
        assert {(b.product, b.written_by, b.written_at) for b in batches} == {
            ("dark 70%", None, start),
            ("white", "sample-data", start),
        }
    finally:
        await db.dispose()


async def test_database_errors_do_not_carry_the_values_of_the_statement(database_url: str) -> None:
    """The app logs database errors; their text must not hold what a user sent (a login, a question)."""
    db = Database(database_url)
    try:
        await db.migrate(COMPONENT)
        async with db.begin() as conn:
            await conn.execute(widgets.insert().values(id=1))
        try:
            async with db.begin() as conn:
                await conn.execute(
                    sa.text("INSERT INTO widgets (id, colour) VALUES (:id, :colour)"),
                    {"id": 1, "colour": "zoe.quokka@chocolate.example"},
                )
        except sa.exc.IntegrityError as error:
            assert "UNIQUE constraint failed" in str(error) or "duplicate key" in str(error)
            assert "zoe.quokka" not in str(error)
        else:
            raise AssertionError("the duplicate key must raise")
    finally:
        await db.dispose()


async def test_the_app_migrates_from_empty_to_every_declared_table_and_column(database_url: str) -> None:
    from app.db import metadata
    from app.migrations import COMPONENTS

    db = Database(database_url)
    try:
        applied = await db.migrate()
        again = await db.migrate()
        async with db.connect() as conn:
            found = await conn.run_sync(
                lambda c: {t: {col["name"] for col in sa.inspect(c).get_columns(t)} for t in metadata.tables}
            )
    finally:
        await db.dispose()
    assert applied == [f"{name}:{m.version}" for name, steps in COMPONENTS for m in steps]
    assert again == [], "a second start applies nothing"
    assert found == {
        name: {column.name for column in table.columns} for name, table in metadata.tables.items()
    }
