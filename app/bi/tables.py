"""Tables of the factory's data and their migrations, applied in order by `Database.migrate()`.

All timestamps are timezone-aware UTC; one row per hour for prices and weather.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.db import Migration, UTCDateTime, create_tables, metadata

energy_prices = sa.Table(
    "energy_prices",
    metadata,
    sa.Column("ts", UTCDateTime(), primary_key=True, doc="start of the hour, UTC"),
    sa.Column("price_eur_kwh", sa.Float, nullable=False),
    sa.Column("tariff_period", sa.String(2), nullable=False, doc="P1, P2 or P3 (2.0TD), computed"),
    sa.Column("source", sa.String(40), nullable=False, doc="ree or sample"),
    sa.Column("fetched_at", UTCDateTime(), nullable=False),
)

weather = sa.Table(
    "weather",
    metadata,
    sa.Column("ts", UTCDateTime(), primary_key=True, doc="the hour, UTC"),
    sa.Column("source", sa.String(40), primary_key=True, doc="open-meteo, aemet or sample"),
    sa.Column("temperature_c", sa.Float, nullable=False),
    sa.Column("humidity_pct", sa.Float, nullable=False),
    sa.Column("fetched_at", UTCDateTime(), nullable=False),
)

#: Longest writer login stored (an e-mail address's limit).
WRITER_MAX_LENGTH = 320
#: The writer recorded for the labelled sample batches of `make sample-data`: a label, not a login.
SAMPLE_WRITER = "sample-data"

production_batches = sa.Table(
    "production_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("ended_at", UTCDateTime(), nullable=False),
    sa.Column("product", sa.String(100), nullable=False),
    sa.Column("kg", sa.Float, nullable=False),
    sa.Column("kwh", sa.Float, nullable=False),
    sa.Column("source", sa.String(40), nullable=False, doc="api, csv or sample"),
    sa.Column("created_at", UTCDateTime(), nullable=False, doc="when it was written"),
    sa.Column(
        "written_by",
        sa.String(WRITER_MAX_LENGTH),
        nullable=True,
        doc="login (or label: sample-data) that wrote it; null: written before writers were recorded",
    ),
)


def _add_written_by(conn: Connection) -> None:
    """Batches stored before writers were recorded keep a null writer; sample rows get their label."""
    if "written_by" in {column["name"] for column in sa.inspect(conn).get_columns("production_batches")}:
        return  # created by migration 1 from today's table definition
    conn.execute(sa.text("ALTER TABLE production_batches ADD COLUMN written_by VARCHAR(320)"))
    conn.execute(
        production_batches.update()
        .where(production_batches.c.source == "sample")
        .values(written_by=SAMPLE_WRITER)
    )


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "energy prices, weather and production batches",
        create_tables(energy_prices, weather, production_batches),
    ),
    Migration(2, "production batches record who wrote them", _add_written_by),
]
