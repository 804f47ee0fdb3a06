"""The BI queries against a real SQLite database holding a known day of prices, weather and batches."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

import pytest

from app.bi import queries, ree
from app.bi.ingestion import missing_hours, spanish_midnight, store_prices
from app.bi.tables import energy_prices, production_batches, weather
from app.bi.tariff import SPAIN as MADRID
from app.bi.tariff import tariff_period
from app.db import Database

NOW = datetime(2026, 6, 10, 9, 30, tzinfo=UTC)  # a Wednesday, 11:30 in Madrid
HOUR = timedelta(hours=1)
FETCHED = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


def _price(i: int) -> float:
    """A price curve with a clear dip 3-5 hours after NOW's hour."""
    return {3: 0.05, 4: 0.04, 5: 0.06}.get(i, 0.20 + 0.001 * i)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    start = NOW.replace(minute=0)
    async with database.begin() as conn:
        await conn.execute(
            energy_prices.insert(),
            [
                {
                    "ts": start + i * HOUR,
                    "price_eur_kwh": _price(i),
                    "tariff_period": tariff_period(start + i * HOUR),
                    "source": "ree",
                    "fetched_at": FETCHED,
                }
                for i in range(-48, 20)
                if i != 10  # an hour REE never delivered
            ],
        )
        await conn.execute(
            weather.insert(),
            [
                {
                    "ts": start,
                    "source": "sample",
                    "temperature_c": 30.0,
                    "humidity_pct": 20.0,
                    "fetched_at": FETCHED,
                },
                {
                    "ts": start,
                    "source": "open-meteo",
                    "temperature_c": 24.5,
                    "humidity_pct": 35.0,
                    "fetched_at": FETCHED,
                },
                {
                    "ts": start + HOUR,
                    "source": "open-meteo",
                    "temperature_c": 26.0,
                    "humidity_pct": 30.0,
                    "fetched_at": FETCHED,
                },
            ],
        )
        await conn.execute(
            production_batches.insert(),
            [
                {
                    "started_at": start - 5 * HOUR,
                    "ended_at": start - 3 * HOUR,
                    "product": "dark 70%",
                    "kg": 400.0,
                    "kwh": 200.0,
                    "source": "api",
                    "created_at": FETCHED,
                },
                {
                    "started_at": start - 2 * HOUR,
                    "ended_at": start,
                    "product": "milk",
                    "kg": 100.0,
                    "kwh": 100.0,
                    "source": "csv",
                    "created_at": FETCHED,
                },
                {
                    "started_at": start - 72 * HOUR,
                    "ended_at": start - 70 * HOUR,
                    "product": "milk",
                    "kg": 999.0,
                    "kwh": 1.0,
                    "source": "csv",
                    "created_at": FETCHED,
                },
            ],
        )
    try:
        yield database
    finally:
        await database.dispose()


async def test_current_price_is_the_hour_containing_now_with_its_period(db: Database) -> None:
    price = await queries.current_price(db, NOW)
    assert price is not None
    assert price.ts == datetime(2026, 6, 10, 9, tzinfo=UTC)
    assert price.price_eur_kwh == pytest.approx(0.20)
    assert price.tariff_period == "P1", "11:00 in Madrid on a Wednesday is punta"
    assert await queries.current_price(db, NOW + 10 * HOUR) is None, "a missing hour has no price"


async def test_cheapest_windows_skip_gaps_and_do_not_overlap(db: Database) -> None:
    windows = await queries.cheapest_windows(db, hours=2, count=2, now=NOW)
    assert windows[0].start == NOW.replace(minute=0) + 3 * HOUR
    assert windows[0].avg_price_eur_kwh == pytest.approx(0.045)
    assert windows[1].start >= windows[0].end or windows[1].end <= windows[0].start
    for window in windows:
        hours = [p.ts for p in window.prices]
        assert hours == [window.start + i * HOUR for i in range(2)], "a window never spans a missing hour"


async def test_next_and_last_24_hours_of_prices(db: Database) -> None:
    ahead = await queries.prices_next_hours(db, 24, NOW)
    behind = await queries.prices_last_hours(db, 24, NOW)
    assert ahead[0].ts == NOW.replace(minute=0) and len(ahead) == 19, "20 hours stored ahead, one missing"
    assert behind[-1].ts == NOW.replace(minute=0) and len(behind) == 24


async def test_price_stats_over_one_day(db: Database) -> None:
    stats = await queries.price_stats(db, days=1, now=NOW)
    assert stats.hours == 24
    assert stats.min_price_eur_kwh == pytest.approx(0.20 - 0.023)
    assert stats.max_price_eur_kwh == pytest.approx(0.20)
    assert {p.tariff_period for p in stats.by_period} == {"P1", "P2", "P3"}
    assert sum(p.hours for p in stats.by_period) == 24


async def test_weather_now_prefers_open_meteo_and_reports_the_comfort_band(db: Database) -> None:
    now = await queries.weather_now(db, NOW, comfort_min_c=15, comfort_max_c=22)
    assert now is not None
    assert (now.source, now.temperature_c, now.comfort) == ("open-meteo", 24.5, "above")
    cooler = await queries.weather_now(db, NOW, comfort_min_c=15, comfort_max_c=25)
    assert cooler is not None and cooler.in_comfort_band
    assert await queries.weather_now(db, NOW + 48 * HOUR) is None, "weather days old is not 'now'"


async def test_production_summary_gives_energy_per_kg_per_product(db: Database) -> None:
    summary = await queries.production_summary(db, NOW - 24 * HOUR, NOW)
    assert (summary.batches, summary.kg, summary.kwh) == (2, 500.0, 300.0)
    assert summary.kwh_per_kg == pytest.approx(0.6)
    assert {p.product: p.kwh_per_kg for p in summary.by_product} == {"dark 70%": 0.5, "milk": 1.0}


async def test_freshness_reports_each_source_with_aware_times(db: Database) -> None:
    fresh = {(f.dataset, f.source): f for f in await queries.data_freshness(db, NOW)}
    assert set(fresh) == {
        ("prices", "ree"),
        ("weather", "open-meteo"),
        ("weather", "sample"),
        ("production", "api"),
        ("production", "csv"),
    }
    assert fresh["prices", "ree"].age_seconds == pytest.approx(1800)
    assert fresh["prices", "ree"].newest_ts == NOW.replace(minute=0) + 19 * HOUR


async def test_energy_cost_prices_each_batch_hour_at_its_stored_price(db: Database) -> None:
    start = NOW.replace(minute=0)
    summary = await queries.production_summary(db, NOW - 24 * HOUR, NOW)
    dark = next(p for p in summary.by_product if p.product == "dark 70%")
    assert dark.energy_cost_eur == pytest.approx(100 * _price(-5) + 100 * _price(-4))
    assert dark.eur_per_kg == pytest.approx(dark.energy_cost_eur / 400)
    assert summary.priced_kwh == pytest.approx(300.0)
    async with db.begin() as conn:
        await conn.execute(energy_prices.delete().where(energy_prices.c.ts == start - HOUR))
    partly = await queries.production_summary(db, NOW - 24 * HOUR, NOW)
    assert partly.priced_kwh == pytest.approx(250.0), "one unpriced hour of the milk batch"
    assert partly.eur_per_kg is None, "a cost per kg from half the energy would mislead"


@pytest.mark.parametrize(
    ("day", "local_hours"),
    [
        (date(2026, 3, 29), [0, 1, *range(3, 24)]),  # 02:00 CET jumps to 03:00 CEST: 23 hours
        (date(2026, 10, 25), [0, 1, 2, 2, *range(3, 24)]),  # 03:00 CEST falls back to 02:00 CET: 25 hours
    ],
    ids=["spring-forward", "fall-back"],
)
async def test_a_madrid_day_of_a_dst_change_stores_and_returns_each_of_its_hours_once(
    database_url: str, day: date, local_hours: list[int]
) -> None:
    """Prices stored twice (a re-fetch replaces by hour), then read back over the Madrid day's bounds."""
    first = spanish_midnight(datetime.combine(day, dt_time(12), MADRID))
    end = spanish_midnight(first + timedelta(hours=26))
    hours = [first + i * HOUR for i in range(-2, len(local_hours) + 2)]
    db = Database(database_url)
    try:
        await db.migrate()
        for fetch, price in ((FETCHED, 0.10), (FETCHED + HOUR, 0.12)):
            stored = [
                ree.HourlyPrice(ts=hour, price_eur_kwh=price + i / 1000) for i, hour in enumerate(hours)
            ]
            await store_prices(db, stored, "ree", fetch)
        series = await queries.price_series(db, first, end)
        missing = await missing_hours(db, energy_prices.c.ts, energy_prices.c.source == "ree", first, end)
        last_day = await queries.prices_last_hours(db, len(local_hours), now=end - timedelta(minutes=1))
    finally:
        await db.dispose()
    assert [p.ts.astimezone(MADRID).hour for p in series] == local_hours
    assert all(p.ts.tzinfo is not None and p.ts.utcoffset() == timedelta(0) for p in series)
    assert [round(p.price_eur_kwh, 3) for p in series] == [
        round(0.12 + i / 1000, 3) for i in range(2, len(hours) - 2)
    ]
    assert [p.tariff_period for p in series] == [tariff_period(p.ts) for p in series]
    assert missing == [] and last_day == series
