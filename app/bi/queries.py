"""Questions the dashboard and the chat ask of the factory's data, answered from the database.

Every function takes the app's `Database` (`ctx.db`) and, where "now" matters, an optional `now`
(timezone-aware; default: the current time) so callers and tests can ask about any moment. Results are
small frozen dataclasses whose field names carry their units (`_eur_kwh`, `_c`, `_pct`, `_kg`, `_kwh`).
Prices are €/kWh, temperatures °C, humidity %, all timestamps timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import sqlalchemy as sa

from app.bi.production import overlap_hours
from app.bi.tables import energy_prices, production_batches, weather
from app.bi.tariff import TariffPeriod, hour_start
from app.db import Database, utc_now
from app.inputs import LONGEST_BATCH_HOURS

HOUR = timedelta(hours=1)

#: Preferred weather source when several have the same hour (lower index wins).
WEATHER_SOURCE_PREFERENCE: tuple[str, ...] = ("open-meteo", "aemet", "sample")


@dataclass(frozen=True)
class PricePoint:
    """The price of one hour, starting at `ts`."""

    ts: datetime
    price_eur_kwh: float
    tariff_period: TariffPeriod
    source: str


@dataclass(frozen=True)
class PriceWindow:
    """`hours` consecutive hours from `start` to `end` (exclusive) and their mean price."""

    start: datetime
    end: datetime
    hours: int
    avg_price_eur_kwh: float
    prices: tuple[PricePoint, ...]


@dataclass(frozen=True)
class PeriodStats:
    tariff_period: TariffPeriod
    hours: int
    avg_price_eur_kwh: float


@dataclass(frozen=True)
class PriceStats:
    """Prices over the `days` before `end`: how many hours were stored, their min/mean/max, per period."""

    days: int
    start: datetime
    end: datetime
    hours: int
    min_price_eur_kwh: float | None
    avg_price_eur_kwh: float | None
    max_price_eur_kwh: float | None
    cheapest: PricePoint | None
    priciest: PricePoint | None
    by_period: tuple[PeriodStats, ...] = field(default_factory=tuple)


ComfortStatus = Literal["below", "within", "above"]


@dataclass(frozen=True)
class WeatherNow:
    """The weather of the hour containing `now` (or the newest hour before it) and the comfort band."""

    ts: datetime
    temperature_c: float
    humidity_pct: float
    source: str
    comfort_min_c: float
    comfort_max_c: float
    comfort: ComfortStatus

    @property
    def in_comfort_band(self) -> bool:
        return self.comfort == "within"


@dataclass(frozen=True)
class ProductSummary:
    product: str
    batches: int
    kg: float
    kwh: float
    kwh_per_kg: float | None
    energy_cost_eur: float | None = None
    eur_per_kg: float | None = None


@dataclass(frozen=True)
class ProductionSummary:
    """Batches that started in [start, end): totals, energy per kg, and the same per product.

    Energy cost spreads each batch's kWh evenly over its duration and prices every share at the
    stored price of its hour; `priced_kwh` says how much of the energy had a price. `eur_per_kg` is
    given only when every kWh was priced (a partial cost would understate it).
    """

    start: datetime
    end: datetime
    batches: int
    kg: float
    kwh: float
    kwh_per_kg: float | None
    by_product: tuple[ProductSummary, ...]
    energy_cost_eur: float | None = None
    priced_kwh: float = 0.0
    eur_per_kg: float | None = None


@dataclass(frozen=True)
class Batch:
    id: int
    started_at: datetime
    ended_at: datetime
    product: str
    kg: float
    kwh: float
    source: str
    written_at: datetime
    written_by: str | None = None


@dataclass(frozen=True)
class SourceFreshness:
    """What one source has stored: its newest hour, when it last delivered, and how long ago."""

    dataset: Literal["prices", "weather", "production"]
    source: str
    rows: int
    newest_ts: datetime | None
    last_fetched_at: datetime | None
    age_seconds: float | None


def _now(now: datetime | None) -> datetime:
    if now is None:
        return utc_now()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"`now` must be timezone-aware, got naive {now!r}")
    return now


def _price_point(row: Any) -> PricePoint:
    return PricePoint(
        ts=row.ts, price_eur_kwh=row.price_eur_kwh, tariff_period=row.tariff_period, source=row.source
    )


_PRICE_COLUMNS = (
    energy_prices.c.ts,
    energy_prices.c.price_eur_kwh,
    energy_prices.c.tariff_period,
    energy_prices.c.source,
)


async def price_series(db: Database, start: datetime, end: datetime) -> list[PricePoint]:
    """Stored hourly prices with `start <= ts < end`, oldest first."""
    async with db.connect() as conn:
        rows = await conn.execute(
            sa.select(*_PRICE_COLUMNS)
            .where(energy_prices.c.ts >= start, energy_prices.c.ts < end)
            .order_by(energy_prices.c.ts)
        )
        return [_price_point(row) for row in rows]


async def current_price(db: Database, now: datetime | None = None) -> PricePoint | None:
    """The price of the hour containing `now`; None when that hour is not stored."""
    hour = hour_start(_now(now))
    series = await price_series(db, hour, hour + HOUR)
    return series[0] if series else None


async def prices_next_hours(db: Database, hours: int = 24, now: datetime | None = None) -> list[PricePoint]:
    """Prices from the current hour on, `hours` hours ahead (as far as they are published)."""
    hour = hour_start(_now(now))
    return await price_series(db, hour, hour + hours * HOUR)


async def prices_last_hours(db: Database, hours: int = 24, now: datetime | None = None) -> list[PricePoint]:
    """Prices of the `hours` hours up to and including the current one."""
    hour = hour_start(_now(now))
    return await price_series(db, hour - (hours - 1) * HOUR, hour + HOUR)


def _contiguous_runs(points: Sequence[PricePoint]) -> list[list[PricePoint]]:
    runs: list[list[PricePoint]] = []
    for point in points:
        if runs and point.ts - runs[-1][-1].ts == HOUR:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def cheapest_windows_in(points: Sequence[PricePoint], hours: int, count: int) -> list[PriceWindow]:
    """The `count` cheapest non-overlapping windows of `hours` consecutive stored hours, cheapest first."""
    if hours < 1 or count < 1:
        raise ValueError("hours and count must be at least 1")
    candidates: list[PriceWindow] = []
    for run in _contiguous_runs(points):
        for i in range(len(run) - hours + 1):
            chunk = tuple(run[i : i + hours])
            avg = sum(p.price_eur_kwh for p in chunk) / hours
            candidates.append(
                PriceWindow(
                    start=chunk[0].ts,
                    end=chunk[-1].ts + HOUR,
                    hours=hours,
                    avg_price_eur_kwh=avg,
                    prices=chunk,
                )
            )
    chosen: list[PriceWindow] = []
    for window in sorted(candidates, key=lambda w: (w.avg_price_eur_kwh, w.start)):
        if all(window.end <= other.start or window.start >= other.end for other in chosen):
            chosen.append(window)
        if len(chosen) == count:
            break
    return chosen


async def cheapest_windows(
    db: Database,
    hours: int = 1,
    count: int = 3,
    within_hours: int = 24,
    now: datetime | None = None,
) -> list[PriceWindow]:
    """The cheapest `hours`-long windows starting from the current hour within the next `within_hours`."""
    points = await prices_next_hours(db, within_hours, now)
    return cheapest_windows_in(points, hours, count)


async def price_stats(db: Database, days: int = 7, now: datetime | None = None) -> PriceStats:
    """Minimum, mean and maximum price of the stored hours in the `days` days up to the current hour."""
    if days < 1:
        raise ValueError("days must be at least 1")
    end = hour_start(_now(now)) + HOUR
    start = end - timedelta(days=days)
    points = await price_series(db, start, end)
    if not points:
        return PriceStats(days, start, end, 0, None, None, None, None, None, ())
    prices = [p.price_eur_kwh for p in points]
    by_period = []
    for period in ("P1", "P2", "P3"):
        in_period = [p.price_eur_kwh for p in points if p.tariff_period == period]
        if in_period:
            average = sum(in_period) / len(in_period)
            by_period.append(PeriodStats(cast(TariffPeriod, period), len(in_period), average))
    return PriceStats(
        days=days,
        start=start,
        end=end,
        hours=len(points),
        min_price_eur_kwh=min(prices),
        avg_price_eur_kwh=sum(prices) / len(prices),
        max_price_eur_kwh=max(prices),
        cheapest=min(points, key=lambda p: (p.price_eur_kwh, p.ts)),
        priciest=max(points, key=lambda p: (p.price_eur_kwh, p.ts)),
        by_period=tuple(by_period),
    )


def comfort_status(temperature_c: float, comfort_min_c: float, comfort_max_c: float) -> ComfortStatus:
    if temperature_c < comfort_min_c:
        return "below"
    if temperature_c > comfort_max_c:
        return "above"
    return "within"


async def weather_now(
    db: Database,
    now: datetime | None = None,
    comfort_min_c: float = 15.0,
    comfort_max_c: float = 22.0,
    max_age: timedelta = timedelta(hours=6),
) -> WeatherNow | None:
    """The newest stored hour at or before `now` (no older than `max_age`), best source first."""
    hour = hour_start(_now(now))
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(weather.c.ts, weather.c.source, weather.c.temperature_c, weather.c.humidity_pct)
                .where(weather.c.ts <= hour, weather.c.ts > hour - max_age)
                .order_by(weather.c.ts.desc())
            )
        ).all()
    if not rows:
        return None
    newest = [row for row in rows if row.ts == rows[0].ts]
    best = min(newest, key=lambda row: _weather_rank(row.source))
    return WeatherNow(
        ts=best.ts,
        temperature_c=best.temperature_c,
        humidity_pct=best.humidity_pct,
        source=best.source,
        comfort_min_c=comfort_min_c,
        comfort_max_c=comfort_max_c,
        comfort=comfort_status(best.temperature_c, comfort_min_c, comfort_max_c),
    )


@dataclass(frozen=True)
class WeatherHour:
    """One hour of weather (observed or forecast), from the best source that has it."""

    ts: datetime
    temperature_c: float
    humidity_pct: float
    source: str
    comfort: ComfortStatus


async def weather_hours(
    db: Database,
    start: datetime,
    end: datetime,
    comfort_min_c: float = 15.0,
    comfort_max_c: float = 22.0,
) -> list[WeatherHour]:
    """Stored hours with `start <= ts < end`, oldest first, one per hour: the preferred source's."""
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(weather.c.ts, weather.c.source, weather.c.temperature_c, weather.c.humidity_pct)
                .where(weather.c.ts >= start, weather.c.ts < end)
                .order_by(weather.c.ts)
            )
        ).all()
    best: dict[datetime, Any] = {}
    for row in rows:
        kept = best.get(row.ts)
        if kept is None or _weather_rank(row.source) < _weather_rank(kept.source):
            best[row.ts] = row
    return [
        WeatherHour(
            ts=row.ts,
            temperature_c=row.temperature_c,
            humidity_pct=row.humidity_pct,
            source=row.source,
            comfort=comfort_status(row.temperature_c, comfort_min_c, comfort_max_c),
        )
        for _, row in sorted(best.items())
    ]


def _weather_rank(source: str) -> int:
    if source in WEATHER_SOURCE_PREFERENCE:
        return WEATHER_SOURCE_PREFERENCE.index(source)
    return len(WEATHER_SOURCE_PREFERENCE)


async def list_batches(db: Database, start: datetime, end: datetime, limit: int = 500) -> list[Batch]:
    """Production batches that started in [start, end), newest first."""
    async with db.connect() as conn:
        rows = await conn.execute(
            sa.select(production_batches)
            .where(production_batches.c.started_at >= start, production_batches.c.started_at < end)
            .order_by(production_batches.c.started_at.desc(), production_batches.c.id.desc())
            .limit(limit)
        )
        return [
            Batch(
                id=row.id,
                started_at=row.started_at,
                ended_at=row.ended_at,
                product=row.product,
                kg=row.kg,
                kwh=row.kwh,
                source=row.source,
                written_at=row.created_at,
                written_by=row.written_by,
            )
            for row in rows
        ]


async def product_names(db: Database, limit: int = 200) -> list[str]:
    """The distinct product names of the stored batches, alphabetically."""
    async with db.connect() as conn:
        rows = await conn.execute(
            sa.select(production_batches.c.product)
            .distinct()
            .order_by(production_batches.c.product)
            .limit(limit)
        )
        return [row.product for row in rows]


def _per_kg(kwh: float, kg: float) -> float | None:
    return kwh / kg if kg > 0 else None


async def production_summary(db: Database, start: datetime, end: datetime) -> ProductionSummary:
    """Batches, kilograms, kWh, kWh per kg and energy cost of the batches that started in [start, end).

    The work is bounded by the period, never by what a stored batch claims: hours are priced from
    `start` to at most LONGEST_BATCH_HOURS after `end` (a batch may run on past the period's end; no
    valid batch runs longer), so a row stored before batches were bounded, ending in year 9999, costs no
    more than one that ends on time.
    """
    batches = await list_batches(db, start, end, limit=100_000)
    priced_until = end + timedelta(hours=LONGEST_BATCH_HOURS)
    prices: dict[datetime, float] = {}
    if batches:
        first = hour_start(min(b.started_at for b in batches))
        last = min(max(b.ended_at for b in batches), priced_until)
        prices = {p.ts: p.price_eur_kwh for p in await price_series(db, first, last)}
    totals: dict[str, dict[str, float]] = {}
    for batch in batches:
        cost, priced = _batch_energy_cost(batch, prices, priced_until)
        entry = totals.setdefault(
            batch.product, {"batches": 0, "kg": 0.0, "kwh": 0.0, "cost": 0.0, "priced": 0.0}
        )
        entry["batches"] += 1
        entry["kg"] += batch.kg
        entry["kwh"] += batch.kwh
        entry["cost"] += cost
        entry["priced"] += priced
    products = tuple(
        ProductSummary(
            product=product,
            batches=int(t["batches"]),
            kg=t["kg"],
            kwh=t["kwh"],
            kwh_per_kg=_per_kg(t["kwh"], t["kg"]),
            energy_cost_eur=t["cost"] if t["priced"] > 0 else None,
            eur_per_kg=_per_kg(t["cost"], t["kg"]) if _fully_priced(t["priced"], t["kwh"]) else None,
        )
        for product, t in sorted(totals.items())
    )
    kg = sum(t["kg"] for t in totals.values())
    kwh = sum(t["kwh"] for t in totals.values())
    cost = sum(t["cost"] for t in totals.values())
    priced = sum(t["priced"] for t in totals.values())
    return ProductionSummary(
        start=start,
        end=end,
        batches=len(batches),
        kg=kg,
        kwh=kwh,
        kwh_per_kg=_per_kg(kwh, kg),
        by_product=products,
        energy_cost_eur=cost if priced > 0 else None,
        priced_kwh=priced,
        eur_per_kg=_per_kg(cost, kg) if batches and _fully_priced(priced, kwh) else None,
    )


async def prices_by_hour(db: Database, start: datetime, end: datetime) -> dict[datetime, float]:
    """Stored €/kWh by hour start (UTC) for `start <= ts < end`: the lookup batch costs are priced with."""
    return {p.ts: p.price_eur_kwh for p in await price_series(db, start, end)}


def batch_energy_cost(
    batch: Batch, prices: dict[datetime, float], start: datetime | None = None
) -> tuple[float, float]:
    """(€, kWh priced) of `batch`, its kWh spread evenly over its duration, run from `start` if given.

    With `start`, the same batch (same duration and kWh) is priced as if it had started then: the
    what-if of moving production to other hours.
    """
    if start is not None:
        # A row stored before batches were bounded may claim any length: keep the moved one in range.
        duration = min(batch.ended_at - batch.started_at, timedelta(hours=LONGEST_BATCH_HOURS))
        batch = replace(batch, started_at=start, ended_at=start + duration)
    # Price no more hours than the longest batch the API accepts.
    return _batch_energy_cost(batch, prices, batch.started_at + timedelta(hours=LONGEST_BATCH_HOURS))


def _fully_priced(priced_kwh: float, kwh: float) -> bool:
    return priced_kwh >= kwh * 0.999


def _batch_energy_cost(batch: Batch, prices: dict[datetime, float], until: datetime) -> tuple[float, float]:
    """(€, kWh priced) of one batch, its kWh spread evenly over its duration, priced up to `until`."""
    duration_h = (batch.ended_at - batch.started_at).total_seconds() / 3600
    if duration_h <= 0 or batch.kwh == 0:
        return 0.0, batch.kwh if batch.kwh == 0 else 0.0
    cost = priced = 0.0
    hour = hour_start(batch.started_at)
    while hour < min(batch.ended_at, until):
        share = batch.kwh * overlap_hours(batch.started_at, batch.ended_at, hour) / duration_h
        if hour in prices:
            cost += share * prices[hour]
            priced += share
        hour += HOUR
    return cost, priced


async def data_freshness(db: Database, now: datetime | None = None) -> list[SourceFreshness]:
    """Per stored source: rows, newest hour, last delivery and its age in seconds at `now`."""
    moment = _now(now)
    queries = (
        ("prices", energy_prices, energy_prices.c.ts, energy_prices.c.fetched_at),
        ("weather", weather, weather.c.ts, weather.c.fetched_at),
        ("production", production_batches, production_batches.c.started_at, production_batches.c.created_at),
    )
    result: list[SourceFreshness] = []
    async with db.connect() as conn:
        for dataset, table, ts, fetched in queries:
            rows = await conn.execute(
                sa.select(table.c.source, sa.func.count(), sa.func.max(ts), sa.func.max(fetched))
                .group_by(table.c.source)
                .order_by(table.c.source)
            )
            for source, count, newest, last in rows:
                newest_ts = _as_utc(newest)
                last_fetched = _as_utc(last)
                result.append(
                    SourceFreshness(
                        dataset=dataset,  # type: ignore[arg-type]
                        source=source,
                        rows=int(count),
                        newest_ts=newest_ts,
                        last_fetched_at=last_fetched,
                        age_seconds=(moment - last_fetched).total_seconds() if last_fetched else None,
                    )
                )
    return result


def _as_utc(value: datetime | str | None) -> datetime | None:
    """Aggregates (max) bypass the column type on SQLite: bring them back to aware UTC."""
    from app.db import UTCDateTime

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]
