"""The figures of each chat category, read straight from the database, as short lines with units.

Every line carries its unit, the time it refers to (Spanish local time, the factory's clock) and,
where the data has one, its source. Builders return sections; `retrieval` fits them into the budget.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from app.bi import queries
from app.bi.tables import weather
from app.bi.tariff import hour_start
from app.db import Database
from app.settings import Settings

HOUR = timedelta(hours=1)

try:
    FACTORY_TZ: ZoneInfo | None = ZoneInfo("Europe/Madrid")
except ZoneInfoNotFoundError:  # a system without tzdata: show UTC rather than fail
    FACTORY_TZ = None


@dataclass
class Section:
    """One titled group of figure lines of one category."""

    category: str
    title: str
    lines: list[str]


SectionBuilder = Callable[[Database, Settings, datetime], Awaitable[list[Section]]]


def moment(now: datetime | None) -> datetime:
    """`now` (timezone-aware) or the current time, in UTC."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError(f"`now` must be timezone-aware, got {now!r}")
    return now.astimezone(UTC)


def local(ts: datetime) -> datetime:
    aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return aware.astimezone(FACTORY_TZ) if FACTORY_TZ else aware.astimezone(UTC)


def when(ts: datetime) -> str:
    """'2026-11-25 15:00 CET': a timestamp on the factory's clock."""
    return local(ts).strftime("%Y-%m-%d %H:%M %Z")


def clock(ts: datetime) -> str:
    return local(ts).strftime("%H:%M")


def eur_kwh(value: float) -> str:
    return f"{value:.4f} €/kWh"


def _no_data(category: str, title: str, what: str) -> list[Section]:
    return [Section(category, title, [f"no {what} stored"])]


async def _price_now_lines(db: Database, now: datetime) -> list[str]:
    point = await queries.current_price(db, now)
    if point is None:
        return [f"current hour ({when(hour_start(now))}): no price stored"]
    return [
        f"current price {when(point.ts)}: {eur_kwh(point.price_eur_kwh)}, tariff period "
        f"{point.tariff_period} (source {point.source})"
    ]


async def _weather_now_line(db: Database, settings: Settings, now: datetime) -> str:
    reading = await queries.weather_now(db, now, settings.comfort_min_c, settings.comfort_max_c)
    if reading is None:
        return "weather now: no reading in the last 6 h"
    return (
        f"weather {when(reading.ts)}: {reading.temperature_c:.1f} °C, humidity {reading.humidity_pct:.0f} %, "
        f"{reading.comfort} the comfort band {settings.comfort_min_c:g}–{settings.comfort_max_c:g} °C "
        f"(source {reading.source})"
    )


async def status(db: Database, settings: Settings, now: datetime) -> list[Section]:
    lines = await _price_now_lines(db, now)
    lines.append(await _weather_now_line(db, settings, now))
    day_start = local(now).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    today = await queries.production_summary(db, day_start, now + HOUR)
    lines.append(_production_line("production today", today))
    return [Section("status", f"Current status at {when(now)}", lines)]


async def overview(db: Database, settings: Settings, now: datetime) -> list[Section]:
    """A compact picture for questions that match no category."""
    sections = await status(db, settings, now)
    best = await queries.cheapest_windows(db, hours=settings.chat_batch_hours, count=1, now=now)
    if best:
        window = best[0]
        sections[0].lines.append(
            f"cheapest {window.hours} h window in the next 24 h: {when(window.start)}–{clock(window.end)}, "
            f"mean {eur_kwh(window.avg_price_eur_kwh)}"
        )
    return [Section("overview", sections[0].title, sections[0].lines)]


async def prices(db: Database, settings: Settings, now: datetime) -> list[Section]:
    lines = await _price_now_lines(db, now)
    ahead = await queries.prices_next_hours(db, 24, now)
    if ahead:
        low = min(ahead, key=lambda p: p.price_eur_kwh)
        high = max(ahead, key=lambda p: p.price_eur_kwh)
        mean = sum(p.price_eur_kwh for p in ahead) / len(ahead)
        lines.append(
            f"next {len(ahead)} published hours ({when(ahead[0].ts)} to {when(ahead[-1].ts + HOUR)}): "
            f"min {eur_kwh(low.price_eur_kwh)} at {clock(low.ts)}, mean {eur_kwh(mean)}, "
            f"max {eur_kwh(high.price_eur_kwh)} at {clock(high.ts)} (source {ahead[0].source})"
        )
        hourly = ", ".join(f"{clock(p.ts)} {p.price_eur_kwh:.3f}" for p in ahead)
        lines.append(f"hourly prices ahead, €/kWh: {hourly}")
    else:
        lines.append("no prices stored for the next 24 h (day-ahead prices not yet fetched)")
    stats = await queries.price_stats(db, 7, now)
    if stats.hours and stats.avg_price_eur_kwh is not None:
        per_period = "; ".join(
            f"{p.tariff_period} mean {eur_kwh(p.avg_price_eur_kwh)} over {p.hours} h" for p in stats.by_period
        )
        lines.append(
            f"last 7 days ({stats.hours} h stored): min {eur_kwh(stats.min_price_eur_kwh or 0)}, "
            f"mean {eur_kwh(stats.avg_price_eur_kwh)}, max {eur_kwh(stats.max_price_eur_kwh or 0)}; "
            f"{per_period}"
        )
    return [Section("prices", "Energy prices (PVPC, 2.0TD tariff periods)", lines)]


def _period_runs(points: Sequence[queries.PricePoint]) -> list[str]:
    runs: list[tuple[str, datetime, datetime]] = []
    for point in points:
        if runs and runs[-1][0] == point.tariff_period and runs[-1][2] == point.ts:
            runs[-1] = (runs[-1][0], runs[-1][1], point.ts + HOUR)
        else:
            runs.append((point.tariff_period, point.ts, point.ts + HOUR))
    return [f"{period} {clock(start)}–{clock(end)}" for period, start, end in runs]


async def windows(db: Database, settings: Settings, now: datetime) -> list[Section]:
    hours = settings.chat_batch_hours
    best = await queries.cheapest_windows(db, hours=hours, count=3, now=now)
    if not best:
        return _no_data("windows", "Optimal production windows", "prices for the next 24 h")
    lines = [
        f"cheapest {hours} h window #{rank}: {when(w.start)}–{clock(w.end)}, "
        f"mean {eur_kwh(w.avg_price_eur_kwh)}"
        for rank, w in enumerate(best, start=1)
    ]
    cheapest_hours = await queries.cheapest_windows(db, hours=1, count=3, now=now)
    lines.append(
        "cheapest single hours: "
        + ", ".join(f"{when(w.start)} {eur_kwh(w.avg_price_eur_kwh)}" for w in cheapest_hours)
    )
    ahead = await queries.prices_next_hours(db, 24, now)
    lines.append("tariff periods ahead: " + ", ".join(_period_runs(ahead)))
    return [Section("windows", "Optimal production windows (next 24 h)", lines)]


async def _forecast(db: Database, now: datetime, hours: int = 24) -> list[tuple[datetime, float]]:
    start = hour_start(now)
    async with db.connect() as conn:
        rows = await conn.execute(
            sa.select(weather.c.ts, sa.func.avg(weather.c.temperature_c))
            .where(weather.c.ts > start, weather.c.ts <= start + hours * HOUR)
            .group_by(weather.c.ts)
            .order_by(weather.c.ts)
        )
        return [(ts if ts.tzinfo else ts.replace(tzinfo=UTC), float(temp)) for ts, temp in rows]


async def weather_section(db: Database, settings: Settings, now: datetime) -> list[Section]:
    lines = [await _weather_now_line(db, settings, now)]
    forecast = await _forecast(db, now)
    if forecast:
        low = min(forecast, key=lambda row: row[1])
        high = max(forecast, key=lambda row: row[1])
        outside = [row for row in forecast if not settings.comfort_min_c <= row[1] <= settings.comfort_max_c]
        lines.append(
            f"forecast next {len(forecast)} h: min {low[1]:.1f} °C at {when(low[0])}, "
            f"max {high[1]:.1f} °C at {when(high[0])}; {len(outside)} h outside the comfort band"
        )
    else:
        lines.append("no weather forecast stored for the next 24 h")
    return [Section("weather", "Weather at the factory (Linares)", lines)]


def _batches(count: int) -> str:
    return "1 batch" if count == 1 else f"{count} batches"


def _production_line(label: str, summary: queries.ProductionSummary) -> str:
    if not summary.batches:
        return f"{label}: no batches recorded"
    per_kg = f"{summary.kwh_per_kg:.3f} kWh/kg" if summary.kwh_per_kg is not None else "n/a"
    return f"{label}: {_batches(summary.batches)}, {summary.kg:.0f} kg, {summary.kwh:.0f} kWh, {per_kg}"


async def production(db: Database, settings: Settings, now: datetime) -> list[Section]:
    week = await queries.production_summary(db, now - timedelta(days=7), now + HOUR)
    month = await queries.production_summary(db, now - timedelta(days=30), now + HOUR)
    lines = [_production_line("last 7 days", week), _production_line("last 30 days", month)]
    for product in week.by_product:
        per_kg = f"{product.kwh_per_kg:.3f} kWh/kg" if product.kwh_per_kg is not None else "n/a"
        lines.append(
            f"last 7 days, {product.product}: {_batches(product.batches)}, {product.kg:.0f} kg, "
            f"{product.kwh:.0f} kWh, {per_kg}"
        )
    for batch in (await queries.list_batches(db, now - timedelta(days=7), now + HOUR, limit=3))[:3]:
        lines.append(
            f"batch {when(batch.started_at)}–{clock(batch.ended_at)}: {batch.product}, {batch.kg:.0f} kg, "
            f"{batch.kwh:.0f} kWh (source {batch.source})"
        )
    return [Section("production", "Production and energy per kg", lines)]


def _cost_of_run(
    prices_by_hour: dict[datetime, float], start: datetime, hours: int, kwh: float
) -> float | None:
    """Cost of `kwh` spread evenly over `hours` hours from `start`; None if a price is missing."""
    per_hour = kwh / hours
    total = 0.0
    for i in range(hours):
        price = prices_by_hour.get(hour_start(start) + i * HOUR)
        if price is None:
            return None
        total += price * per_hour
    return total


def _fixed_start(ts: datetime, start_hour: int) -> datetime:
    day = local(ts).replace(hour=start_hour, minute=0, second=0, microsecond=0)
    return day.astimezone(UTC)


async def savings(db: Database, settings: Settings, now: datetime) -> list[Section]:
    fixed_hour = settings.chat_fixed_schedule_start_hour
    title = f"Savings against a fixed {fixed_hour:02d}:00 start"
    lines: list[str] = []
    batches = await queries.list_batches(db, now - timedelta(days=7), now + HOUR)
    series = await queries.price_series(db, now - timedelta(days=8), now + 25 * HOUR)
    prices_by_hour = {point.ts: point.price_eur_kwh for point in series}
    actual = fixed = 0.0
    compared = 0
    for batch in batches:
        hours = max(1, round((batch.ended_at - batch.started_at) / HOUR))
        real = _cost_of_run(prices_by_hour, batch.started_at, hours, batch.kwh)
        alt = _cost_of_run(prices_by_hour, _fixed_start(batch.started_at, fixed_hour), hours, batch.kwh)
        if real is not None and alt is not None:
            actual, fixed, compared = actual + real, fixed + alt, compared + 1
    if compared:
        lines.append(
            f"last 7 days, {compared} batches with prices: energy cost {actual:.2f} € as run vs "
            f"{fixed:.2f} € at the fixed start, saving {fixed - actual:.2f} €"
        )
    else:
        lines.append("last 7 days: no batches with stored prices to compare")
    hours = settings.chat_batch_hours
    typical_kwh = sum(b.kwh for b in batches) / len(batches) if batches else None
    best = await queries.cheapest_windows(db, hours=hours, count=1, now=now)
    next_fixed = _fixed_start(now, fixed_hour)
    if next_fixed < hour_start(now):
        next_fixed += timedelta(days=1)
    if typical_kwh and best:
        cheap = _cost_of_run(prices_by_hour, best[0].start, hours, typical_kwh)
        at_fixed = _cost_of_run(prices_by_hour, next_fixed, hours, typical_kwh)
        if cheap is not None and at_fixed is not None:
            share = (at_fixed - cheap) / at_fixed * 100 if at_fixed else 0.0
            lines.append(
                f"next 24 h, a typical batch ({typical_kwh:.0f} kWh over {hours} h): {cheap:.2f} € from "
                f"{when(best[0].start)} vs {at_fixed:.2f} € from {when(next_fixed)}, saving "
                f"{at_fixed - cheap:.2f} € ({share:.0f} %)"
            )
        else:
            lines.append(f"next 24 h: prices for the fixed start {when(next_fixed)} are not published yet")
    elif not batches:
        lines.append("next 24 h: no recent batches to size a typical batch")
    return [Section("savings", title, lines)]


async def alerts(db: Database, settings: Settings, now: datetime) -> list[Section]:
    lines: list[str] = []
    threshold = settings.chat_high_price_eur_kwh
    high = [p for p in await queries.prices_next_hours(db, 24, now) if p.price_eur_kwh > threshold]
    if high:
        peak = max(high, key=lambda p: p.price_eur_kwh)
        lines.append(
            f"ALERT price: {len(high)} h in the next 24 h above {eur_kwh(threshold)}, peak "
            f"{eur_kwh(peak.price_eur_kwh)} at {when(peak.ts)}"
        )
    reading = await queries.weather_now(db, now, settings.comfort_min_c, settings.comfort_max_c)
    if reading is not None and reading.comfort != "within":
        lines.append(
            f"ALERT temperature: {reading.temperature_c:.1f} °C at {when(reading.ts)} is {reading.comfort} "
            f"the comfort band {settings.comfort_min_c:g}–{settings.comfort_max_c:g} °C"
        )
    outside = [
        (ts, temp)
        for ts, temp in await _forecast(db, now)
        if not settings.comfort_min_c <= temp <= settings.comfort_max_c
    ]
    if outside:
        lines.append(
            f"ALERT forecast: {len(outside)} h in the next 24 h outside the comfort band, first at "
            f"{when(outside[0][0])} ({outside[0][1]:.1f} °C)"
        )
    limits = {
        "prices": settings.prices_stale_after_seconds,
        "weather": settings.weather_stale_after_seconds,
    }
    fresh = await queries.data_freshness(db, now)
    for dataset, limit in limits.items():
        ages = [f.age_seconds for f in fresh if f.dataset == dataset and f.age_seconds is not None]
        if not ages:
            lines.append(f"ALERT stale data: no {dataset} stored at all")
        elif min(ages) > limit:
            lines.append(f"ALERT stale data: newest {dataset} fetched {min(ages) / 3600:.1f} h ago")
    if not lines:
        lines.append(
            f"no alerts at {when(now)}: prices under {eur_kwh(threshold)}, temperature within the band, "
            "data fresh"
        )
    return [Section("alerts", "Alerts", lines)]


SECTION_BUILDERS: dict[str, SectionBuilder] = {
    "overview": overview,
    "status": status,
    "prices": prices,
    "windows": windows,
    "weather": weather_section,
    "production": production,
    "savings": savings,
    "alerts": alerts,
}
