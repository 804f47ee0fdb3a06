"""`python -m app.bi.sample_data`: load a labelled SAMPLE dataset so the dashboard has something to show.

Generates, around the current time: hourly prices (last `--days` days and the next 24 h), hourly
weather for Linares (the same days and the next 48 h), and two production batches per working day.
Every row carries `source = 'sample'`, so the dashboard and /ready show it as sample data, and
`python -m app.bi.sample_data --remove` deletes exactly those rows.

Sample rows never replace real ones: a price hour already stored from REE stays as it is (prices have
one row per hour), and weather and batches are stored under their own source. Loading twice is harmless.
The numbers are invented, shaped like a Spanish PVPC day and a Linares summer or winter day.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.bi.tables import SAMPLE_WRITER, energy_prices, production_batches, weather
from app.bi.tariff import SPAIN, hour_start, is_p3_day, tariff_period
from app.db import Database, upsert, utc_now
from app.settings import Settings

SOURCE = "sample"
HOUR = timedelta(hours=1)
#: €/kWh by Spanish local hour: cheap nights and solar middays, dear evenings (PVPC-like).
PRICE_PROFILE = [
    0.098, 0.092, 0.089, 0.086, 0.086, 0.089, 0.102, 0.125, 0.142, 0.132, 0.118, 0.105,
    0.097, 0.094, 0.095, 0.104, 0.121, 0.150, 0.178, 0.192, 0.183, 0.163, 0.140, 0.113,
]  # fmt: skip
PRODUCTS = (
    ("dark 70%", 420.0, 0.55),
    ("milk 35%", 380.0, 0.62),
    ("white", 300.0, 0.58),
    ("pralines", 150.0, 0.9),
)


def sample_price(ts: datetime) -> float:
    local = ts.astimezone(SPAIN)
    weekend = 0.85 if is_p3_day(local.date()) else 1.0
    drift = 1.0 + 0.08 * math.sin(local.toordinal() / 3.0)
    return round(PRICE_PROFILE[local.hour] * weekend * drift, 5)


def sample_weather(ts: datetime) -> tuple[float, float]:
    """(°C, %) with a seasonal mean and a daily swing peaking mid-afternoon local time."""
    day_of_year = ts.timetuple().tm_yday
    seasonal = 17.0 - 10.0 * math.cos((day_of_year - 20) / 365 * 2 * math.pi)
    daily = 7.0 * math.sin((ts.hour - 9) / 24 * 2 * math.pi)
    temperature = round(seasonal + daily, 1)
    humidity = round(min(100.0, max(10.0, 60.0 - 2.0 * daily - (seasonal - 17.0))), 0)
    return temperature, humidity


def sample_batches(start: datetime, end: datetime) -> list[dict[str, object]]:
    """Two batches per Spanish working day: 07:00–11:00 and 13:00–17:00 local time."""
    rows: list[dict[str, object]] = []
    day = start.astimezone(SPAIN).date()
    while day <= end.astimezone(SPAIN).date():
        if not is_p3_day(day):
            for slot, local_hour in enumerate((7, 13)):
                product, kg, kwh_per_kg = PRODUCTS[(day.toordinal() + slot) % len(PRODUCTS)]
                began = datetime(day.year, day.month, day.day, local_hour, tzinfo=SPAIN)
                if not start <= began < end:
                    continue
                wobble = 1.0 + 0.05 * math.sin(day.toordinal() + slot)
                rows.append(
                    {
                        "started_at": began,
                        "ended_at": began + 4 * HOUR,
                        "product": product,
                        "kg": round(kg * wobble, 1),
                        "kwh": round(kg * wobble * kwh_per_kg, 1),
                    }
                )
        day += timedelta(days=1)
    return rows


async def load_sample_data(db: Database, days: int = 30, now: datetime | None = None) -> dict[str, int]:
    """Store the sample rows; returns how many of each were written."""
    now = now or utc_now()
    first = hour_start(now) - timedelta(days=days)
    # Prices as far as REE publishes them (the next day); weather as far as the 48 h forecast goes.
    hours = _hours(first, hour_start(now) + 24 * HOUR)
    prices = [
        {"ts": h, "price_eur_kwh": sample_price(h), "tariff_period": tariff_period(h), "source": SOURCE}
        | {"fetched_at": now}
        for h in hours
    ]
    readings = []
    for h in _hours(first, hour_start(now) + 48 * HOUR):
        temperature, humidity = sample_weather(h)
        readings.append(
            {
                "ts": h,
                "source": SOURCE,
                "temperature_c": temperature,
                "humidity_pct": humidity,
                "fetched_at": now,
            }
        )
    batches = sample_batches(first, now)
    async with db.begin() as conn:
        dialect = conn.dialect.name
        # Prices: one row per hour; an hour REE already delivered keeps REE's price.
        stored_prices = 0
        for chunk in _chunks(prices, 500):
            result = await conn.execute(
                upsert(energy_prices, chunk, dialect=dialect, where=energy_prices.c.source == SOURCE)
            )
            stored_prices += max(result.rowcount, 0)
        for chunk in _chunks(readings, 500):
            await conn.execute(upsert(weather, chunk, dialect=dialect))
        existing = {
            (row.started_at, row.product)
            for row in await conn.execute(
                sa.select(production_batches.c.started_at, production_batches.c.product).where(
                    production_batches.c.source == SOURCE
                )
            )
        }
        new_batches = [
            b | {"source": SOURCE, "created_at": now, "written_by": SAMPLE_WRITER}
            for b in batches
            if (b["started_at"], b["product"]) not in existing
        ]
        if new_batches:
            await conn.execute(production_batches.insert(), new_batches)
    return {"prices": stored_prices, "weather": len(readings), "batches": len(new_batches)}


async def remove_sample_data(db: Database) -> dict[str, int]:
    counts = {}
    async with db.begin() as conn:
        for name, table in (("prices", energy_prices), ("weather", weather), ("batches", production_batches)):
            result = await conn.execute(table.delete().where(table.c.source == SOURCE))
            counts[name] = result.rowcount
    return counts


def _hours(first: datetime, last: datetime) -> list[datetime]:
    """Every hour from `first` to `last`, both included."""
    return [first + i * HOUR for i in range(int((last - first) / HOUR) + 1)]


def _chunks(rows: list[dict[str, object]], size: int) -> list[list[dict[str, object]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


async def _run(days: int, remove: bool, settings: Settings) -> dict[str, int]:
    db = Database.from_settings(settings)
    try:
        await db.migrate()
        return await (remove_sample_data(db) if remove else load_sample_data(db, days))
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bi.sample_data", description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30, help="days of history to generate (default 30)")
    parser.add_argument("--remove", action="store_true", help="delete every sample row instead")
    args = parser.parse_args(argv)
    if not 1 <= args.days <= 366:
        parser.error("--days must be between 1 and 366")
    settings = Settings()
    counts = asyncio.run(_run(args.days, args.remove, settings))
    verb = "removed" if args.remove else "loaded"
    print(
        f"SAMPLE data {verb} ({settings.database_url}): {counts['prices']} price hours, "
        f"{counts['weather']} weather hours, {counts['batches']} production batches (source 'sample')"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
