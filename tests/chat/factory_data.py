"""A small, known picture of the factory, written relative to "now" so that every figure is current.

Next 24 h of prices: 0.15 €/kWh, except a cheap run of 0.05 at hours +5..+7 and a 0.30 peak at +10.
Weather: 24 °C now (above the 15–22 °C band), 20 °C ahead except 26 °C at hours +12..+14.
Production in the last 7 days: three 600 kWh batches of 500 kg and one 300 kWh batch of 200 kg.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.bi.tables import energy_prices, production_batches, weather
from app.bi.tariff import tariff_period
from app.db import Database

HOUR = timedelta(hours=1)
CHEAP_HOURS = (5, 6, 7)
PEAK_HOUR = 10
HOT_HOURS = (12, 13, 14)


@dataclass(frozen=True)
class Seeded:
    now: datetime
    current_hour: datetime

    @property
    def cheap_start(self) -> datetime:
        return self.current_hour + CHEAP_HOURS[0] * HOUR


def future_price(offset: int) -> float:
    if offset in CHEAP_HOURS:
        return 0.05
    if offset == PEAK_HOUR:
        return 0.30
    return 0.15


async def seed(db: Database, now: datetime | None = None) -> Seeded:
    now = now or datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    prices = []
    for offset in range(-8 * 24, 24):
        ts = hour + offset * HOUR
        price = future_price(offset) if offset >= 0 else 0.12
        prices.append(
            {
                "ts": ts,
                "price_eur_kwh": price,
                "tariff_period": tariff_period(ts),
                "source": "ree",
                "fetched_at": now,
            }
        )
    readings = []
    for offset in range(-3, 25):
        temperature = 24.0 if offset <= 0 else (26.0 if offset in HOT_HOURS else 20.0)
        readings.append(
            {
                "ts": hour + offset * HOUR,
                "source": "open-meteo",
                "temperature_c": temperature,
                "humidity_pct": 40.0,
                "fetched_at": now,
            }
        )
    batches = []
    for day, product, kg, kwh in (
        (1, "tableta 70%", 500.0, 600.0),
        (2, "tableta 70%", 500.0, 600.0),
        (3, "tableta 70%", 500.0, 600.0),
        (4, "bombones", 200.0, 300.0),
    ):
        start = hour - day * 24 * HOUR
        batches.append(
            {
                "started_at": start,
                "ended_at": start + 3 * HOUR,
                "product": product,
                "kg": kg,
                "kwh": kwh,
                "source": "api",
                "created_at": now,
            }
        )
    async with db.begin() as conn:
        await conn.execute(energy_prices.insert(), prices)
        await conn.execute(weather.insert(), readings)
        await conn.execute(production_batches.insert(), batches)
    return Seeded(now=now, current_hour=hour)


def seed_database(url: str) -> Seeded:
    """Migrate the database at `url` and write the known picture into it."""

    async def run() -> Seeded:
        db = Database(url)
        try:
            await db.migrate()
            return await seed(db)
        finally:
            await db.dispose()

    return asyncio.run(run())
