"""The database: SQLite in WAL mode by default, PostgreSQL (asyncpg) when DATABASE_URL names one.

Each feature declares its tables and an ordered list of migrations in its own `tables` module;
`Database.migrate()` applies the ones not yet recorded, per component, at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from app.settings import Settings

log = logging.getLogger(__name__)
metadata = sa.MetaData()

#: A write `write_eventually` may retry: it runs inside a transaction on the connection it is given.
Write = Callable[[AsyncConnection], Awaitable[object]]


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored and returned as timezone-aware UTC on every backend.

    SQLite keeps no zone and hands back naive datetimes; this type converts aware values to UTC on the
    way in (naive values are refused: their zone is unknown) and marks values read back as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware value (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_database_locked(error: BaseException) -> bool:
    """SQLite's SQLITE_BUSY: another connection held the write lock past the busy timeout."""
    return isinstance(error, sa.exc.OperationalError) and "database is locked" in str(error.orig)


#: The "operator intervention" codes a PostgreSQL restart raises: admin_shutdown, crash_shutdown,
#: cannot_connect_now (postgresql.org/docs/current/errcodes-appendix.html).
UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


class DatabaseUnreachableError(Exception):
    """No connection to the database server could be opened (refused, unreachable, timed out).

    asyncpg raises plain OSErrors (ConnectionRefusedError, TimeoutError) when it cannot open a connection
    and SQLAlchemy's pool passes them on unwrapped; `Database.connect` names them with this type so the
    app answers 503 for these and only these.
    """


def is_database_unreachable(error: BaseException) -> bool:
    """The server cannot be reached right now (restarting, down, or every pooled connection busy).

    Covers a refused connection (DatabaseUnreachableError), one dropped under a statement (SQLAlchemy
    marks it `connection_invalidated`), the server's "starting up / shutting down" refusal (SQLSTATE 57P01
    to 57P03, asyncpg's CannotConnectNowError) and a pool checkout that timed out.
    """
    if isinstance(error, DatabaseUnreachableError | sa.exc.TimeoutError):
        return True
    if isinstance(error, sa.exc.DBAPIError):
        if error.connection_invalidated:
            return True
        original = error.orig
        return isinstance(original, OSError) or getattr(original, "sqlstate", None) in UNREACHABLE_SQLSTATES
    return getattr(error, "sqlstate", None) in UNREACHABLE_SQLSTATES


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The primary key of the one row an INSERT stored."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def upsert(
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    dialect: str,
    index_elements: Sequence[str] | None = None,
    update_columns: Sequence[str] | None = None,
    where: Any = None,
) -> Any:
    """`INSERT ... ON CONFLICT (key) DO UPDATE` for SQLite and PostgreSQL.

    `index_elements` defaults to the table's primary key, `update_columns` to every other column of the
    first row; `where` limits which existing rows are updated (the others stay as they are).
    Execute the result with `await conn.execute(stmt)`; `dialect` is `conn.dialect.name`.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    inserts: dict[str, Callable[[sa.Table], Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
    if dialect not in inserts:
        raise ValueError(f"upsert does not support the {dialect!r} database; use SQLite or PostgreSQL")
    keys = list(index_elements or [column.name for column in table.primary_key.columns])
    stmt = inserts[dialect](table).values(list(rows))
    names = update_columns if update_columns is not None else [k for k in rows[0] if k not in keys]
    if not names:
        return stmt.on_conflict_do_nothing(index_elements=keys)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={name: stmt.excluded[name] for name in names}, where=where
    )


@dataclass(frozen=True)
class Migration:
    """One schema step of one component; `apply` runs inside the migration's transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def create_tables(*tables: sa.Table) -> Callable[[Connection], None]:
    """A migration step that creates `tables` (and their indexes)."""

    def apply(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    return apply


schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


#: Writes that may wait for the lock in the background at once (see `Database.write_eventually`).
MAX_RETRYING_WRITES = 1000


@dataclass(frozen=True)
class PoolLimits:
    """The PostgreSQL connection pool of one process: the `CF_DB_POOL_*` and `CF_DB_*_TIMEOUT_SECONDS`
    settings (app/settings.py documents each); SQLite ignores it."""

    size: int
    max_overflow: int
    timeout_seconds: float
    recycle_seconds: float
    connect_timeout_seconds: float
    command_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolLimits:
        return cls(
            size=settings.db_pool_size,
            max_overflow=settings.db_pool_max_overflow,
            timeout_seconds=settings.db_pool_timeout_seconds,
            recycle_seconds=settings.db_pool_recycle_seconds,
            connect_timeout_seconds=settings.db_connect_timeout_seconds,
            command_timeout_seconds=settings.db_command_timeout_seconds,
        )

    @classmethod
    def defaults(cls) -> PoolLimits:
        """The settings' defaults, whatever this process's environment says."""
        from app.settings import Settings

        fields = Settings.model_fields
        return cls(
            size=fields["db_pool_size"].default,
            max_overflow=fields["db_pool_max_overflow"].default,
            timeout_seconds=fields["db_pool_timeout_seconds"].default,
            recycle_seconds=fields["db_pool_recycle_seconds"].default,
            connect_timeout_seconds=fields["db_connect_timeout_seconds"].default,
            command_timeout_seconds=fields["db_command_timeout_seconds"].default,
        )


class Database:
    """The app's engine, created once in the lifespan and shared by requests and scheduled jobs."""

    def __init__(self, url: str, busy_timeout_ms: int = 5000, pool: PoolLimits | None = None) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        connect_args: dict[str, Any] = {}
        engine_args: dict[str, Any] = {}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            connect_args["timeout"] = busy_timeout_ms / 1000
        elif parsed.get_backend_name() == "postgresql":
            pool = pool or PoolLimits.defaults()
            # asyncpg.connect(): `timeout` bounds opening a connection, `command_timeout` each statement,
            # and `server_settings` are sent at start-up: the session's TimeZone is UTC whatever the
            # server's default, so date_trunc/date() on timestamptz columns group by UTC as on SQLite
            # (magicstack.github.io/asyncpg/current/api/index.html#asyncpg.connection.connect).
            connect_args.update(
                timeout=pool.connect_timeout_seconds,
                command_timeout=pool.command_timeout_seconds,
                server_settings={"timezone": "UTC"},
            )
            # QueuePool: `pool_size` kept open, `max_overflow` more under load, `pool_timeout` to wait for
            # one, `pool_recycle` to replace old ones (docs.sqlalchemy.org/en/20/core/pooling.html).
            engine_args.update(
                pool_size=pool.size,
                max_overflow=pool.max_overflow,
                pool_timeout=pool.timeout_seconds,
                pool_recycle=pool.recycle_seconds,
            )
        # pool_pre_ping: each checkout tests its connection first; after a server restart the dead ones are
        # dropped and new ones opened, so the app recovers without a restart of its own ("Disconnect
        # Handling - Pessimistic", docs.sqlalchemy.org/en/20/core/pooling.html).
        # hide_parameters: statement parameters (logins, questions) appear neither in SQLAlchemy's logs nor
        # in the text of its errors, which the app logs (docs.sqlalchemy.org, create_engine.hide_parameters).
        self.engine: AsyncEngine = create_async_engine(
            url, connect_args=connect_args, pool_pre_ping=True, hide_parameters=True, **engine_args
        )
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas(busy_timeout_ms))
        self._retrying: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The app's database as its settings describe it (URL, SQLite busy timeout, PostgreSQL pool)."""
        return cls(settings.database_url, settings.db_busy_timeout_ms, PoolLimits.from_settings(settings))

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """`async with db.connect() as conn:` for reads."""
        try:
            conn = await self.engine.connect().start()
        except OSError as error:
            raise DatabaseUnreachableError(f"cannot connect to the database server: {error!r}") from error
        try:
            yield conn
        finally:
            await asyncio.shield(conn.close())

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """`async with db.begin() as conn:` for a write transaction, committed on exit."""
        async with self.connect() as conn, conn.begin():
            yield conn

    async def write_eventually(self, write: Write, what: str) -> bool:
        """Run `write` in a transaction now; when another writer holds the lock past the busy timeout (a
        CSV import), keep it and retry in the background until it lands, so a record is not dropped.

        Returns True when it landed now. At most `MAX_RETRYING_WRITES` wait at a time (memory stays
        bounded); a write beyond that, or one pending when the process is killed, is lost and logged.
        """
        try:
            async with self.begin() as conn:
                await write(conn)
            return True
        except sa.exc.OperationalError as error:
            if not is_database_locked(error):
                raise
        if len(self._retrying) >= MAX_RETRYING_WRITES:
            log.error("%s: the database is locked and %d writes wait: dropped", what, MAX_RETRYING_WRITES)
            return False
        log.warning("%s: the database is locked by another writer; retrying in the background", what)
        task = asyncio.create_task(self._retry(write, what))
        self._retrying.add(task)
        task.add_done_callback(self._retrying.discard)
        return False

    async def _retry(self, write: Write, what: str) -> None:
        delay = 0.5
        while True:
            await asyncio.sleep(delay)
            try:
                async with self.begin() as conn:
                    await write(conn)
            except sa.exc.OperationalError as error:
                if not is_database_locked(error):
                    log.exception("%s: the retried write failed", what)
                    return
                delay = min(delay * 2, 10.0)
                continue
            log.info("%s: stored once the lock was released", what)
            return

    async def migrate(self, components: Sequence[tuple[str, Sequence[Migration]]] | None = None) -> list[str]:
        """Apply pending migrations; returns `component:version` of each one applied."""
        if components is None:
            from app.migrations import COMPONENTS

            components = COMPONENTS
        applied: list[str] = []
        async with self.begin() as conn:
            await conn.run_sync(lambda sync_conn: schema_migrations.create(sync_conn, checkfirst=True))
        for component, migrations in components:
            done = await self._applied_versions(component)
            for migration in sorted(migrations, key=lambda m: m.version):
                if migration.version in done:
                    continue
                async with self.begin() as conn:
                    await conn.run_sync(migration.apply)
                    await conn.execute(
                        schema_migrations.insert().values(
                            component=component, version=migration.version, description=migration.description
                        )
                    )
                applied.append(f"{component}:{migration.version}")
        return applied

    async def _applied_versions(self, component: str) -> set[int]:
        async with self.connect() as conn:
            rows = await conn.execute(
                sa.select(schema_migrations.c.version).where(schema_migrations.c.component == component)
            )
            return {row[0] for row in rows}

    async def ping(self) -> bool:
        try:
            async with self.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self, grace_seconds: float = 5.0) -> None:
        """Close the engine, after giving writes still retrying `grace_seconds` to land."""
        if self._retrying:
            _done, pending = await asyncio.wait(set(self._retrying), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                log.error("%d writes still waited for the database lock at shutdown: lost", len(pending))
        await self.engine.dispose()
