"""Tables of the factory's data and their migrations, applied in order by `Database.migrate()`.

All timestamps are timezone-aware UTC; one row per hour for prices and weather.
"""

from __future__ import annotations

import sqlalchemy as sa

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
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "energy prices, weather and production batches",
        create_tables(energy_prices, weather, production_batches),
    ),
]
