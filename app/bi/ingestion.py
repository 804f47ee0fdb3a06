"""Fetch prices and weather, validate, and upsert them by hour; find and fill gaps after downtime.

Idempotent: storing the same hours again replaces them (upsert by timestamp), so repeated or
overlapping runs leave one row per hour. A rejected response (`UpstreamError`) is logged, counted in
`cf_ingestion_rejected_total{source,reason}` and re-raised: the scheduler records the failed run, and
nothing of that response is stored, so earlier rows stay as they were.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

from app import metrics
from app.bi import ree
from app.bi import weather as weather_clients
from app.bi.tables import energy_prices, weather
from app.bi.tariff import SPAIN, hour_start, tariff_period
from app.bi.upstream import UpstreamError, outbound_timeout
from app.context import AppContext
from app.db import Database, upsert, utc_now
from app.errors import ExpectedFailure

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
T = TypeVar("T")


class BackfillFailed(ExpectedFailure):
    """At least one source could not be backfilled; the message says which and why."""


def spanish_midnight(ts: datetime) -> datetime:
    """Start of the Spanish (Europe/Madrid) day containing `ts`, as an aware UTC instant."""
    local = ts.astimezone(SPAIN)
    midnight = datetime(local.year, local.month, local.day, tzinfo=SPAIN)
    return hour_start(midnight)


def _timeout(ctx: AppContext) -> httpx.Timeout:
    return outbound_timeout(ctx.settings.http_timeout_seconds, ctx.settings.http_connect_timeout_seconds)


def _rejected(exc: UpstreamError) -> None:
    metrics.INGESTION_REJECTED.labels(exc.source, exc.reason).inc()
    log.warning(
        "upstream response rejected, nothing stored",
        extra={"fields": {"source": exc.source, "reason": exc.reason, "error": str(exc)}},
    )


def _stored(dataset: str, source: str, rows: int) -> None:
    metrics.INGESTED_ROWS.labels(source).inc(rows)
    metrics.INGESTION_LAST_SUCCESS.labels(source).set(time.time())
    metrics.INGESTION_LAG.labels(dataset, source).set(0)
    log.info("rows stored", extra={"fields": {"dataset": dataset, "source": source, "rows": rows}})


async def _fetched(fetch: Awaitable[T]) -> T:
    """Await an upstream fetch; a rejected response is logged and counted, then re-raised."""
    try:
        return await fetch
    except UpstreamError as exc:
        _rejected(exc)
        raise


async def _upsert_rows(db: Database, table: sa.Table, rows: list[dict[str, Any]]) -> int:
    """Store `rows` in one transaction (replacing rows of the same hour); returns how many."""
    if rows:
        async with db.begin() as conn:
            await conn.execute(upsert(table, rows, dialect=conn.dialect.name))
    return len(rows)


async def store_prices(
    db: Database, prices: Sequence[ree.HourlyPrice], source: str, fetched_at: datetime
) -> int:
    rows = [
        {
            "ts": p.ts,
            "price_eur_kwh": p.price_eur_kwh,
            "tariff_period": tariff_period(p.ts),
            "source": source,
            "fetched_at": fetched_at,
        }
        for p in prices
    ]
    return await _upsert_rows(db, energy_prices, rows)


async def store_weather(
    db: Database, readings: Sequence[weather_clients.HourlyWeather], source: str, fetched_at: datetime
) -> int:
    rows = [
        {
            "ts": r.ts,
            "source": source,
            "temperature_c": r.temperature_c,
            "humidity_pct": r.humidity_pct,
            "fetched_at": fetched_at,
        }
        for r in readings
    ]
    return await _upsert_rows(db, weather, rows)


async def ingest_prices(
    ctx: AppContext, start: datetime | None = None, end: datetime | None = None, now: datetime | None = None
) -> int:
    """Fetch REE's PVPC prices for [start, end) (default: this Spanish day to the settings' horizon)."""
    now = now or utc_now()
    start = start or spanish_midnight(now)
    end = end or hour_start(now) + ctx.settings.prices_ahead_hours * HOUR
    prices = await _fetched(
        ree.fetch_pvpc(
            ctx.http, ctx.settings.ree_base_url, start, end, now=now, request_timeout=_timeout(ctx)
        )
    )
    stored = await store_prices(ctx.db, prices, ree.SOURCE, utc_now())
    _stored("prices", ree.SOURCE, stored)
    return stored


async def ingest_open_meteo(ctx: AppContext, past_days: int = 1, now: datetime | None = None) -> int:
    """Fetch Open-Meteo's hours from `past_days` ago up to the settings' forecast horizon."""
    now = now or utc_now()
    settings = ctx.settings
    forecast_days = max(1, math.ceil(settings.weather_ahead_hours / 24))
    readings = await _fetched(
        weather_clients.fetch_open_meteo(
            ctx.http,
            settings.open_meteo_base_url,
            settings.factory_latitude,
            settings.factory_longitude,
            past_days=past_days,
            forecast_days=forecast_days,
            request_timeout=_timeout(ctx),
        )
    )
    horizon = hour_start(now) + settings.weather_ahead_hours * HOUR
    kept = [r for r in readings if r.ts <= horizon]
    stored = await store_weather(ctx.db, kept, weather_clients.OPEN_METEO, utc_now())
    _stored("weather", weather_clients.OPEN_METEO, stored)
    return stored


async def ingest_aemet(ctx: AppContext) -> int:
    """Fetch the AEMET station's last 24 h of observations (only called when a key is configured)."""
    settings = ctx.settings
    readings = await _fetched(
        weather_clients.fetch_aemet(
            ctx.http,
            settings.aemet_base_url,
            settings.aemet_api_key,
            settings.aemet_station_id,
            request_timeout=_timeout(ctx),
        )
    )
    stored = await store_weather(ctx.db, readings, weather_clients.AEMET, utc_now())
    _stored("weather", weather_clients.AEMET, stored)
    return stored


async def missing_hours(
    db: Database, column: sa.Column[datetime], where: sa.ColumnElement[bool], start: datetime, end: datetime
) -> list[datetime]:
    """Hours in [start, end) with no row matching `where`."""
    async with db.connect() as conn:
        present = {
            row[0]
            for row in await conn.execute(sa.select(column).where(where, column >= start, column < end))
        }
    hours = []
    hour = hour_start(start)
    while hour < end:
        if hour not in present:
            hours.append(hour)
        hour += HOUR
    return hours


async def backfill_prices(ctx: AppContext, now: datetime | None = None) -> str:
    """Refetch REE prices from the first missing hour in the last `backfill_max_days` days."""
    now = now or utc_now()
    end = hour_start(now) + HOUR
    start = spanish_midnight(end - timedelta(days=ctx.settings.backfill_max_days))
    gaps = await missing_hours(ctx.db, energy_prices.c.ts, energy_prices.c.source == ree.SOURCE, start, end)
    if not gaps:
        return "prices: no gap"
    stored = await ingest_prices(ctx, spanish_midnight(gaps[0]), end, now=now)
    return f"prices: {len(gaps)} missing hour(s) from {gaps[0].isoformat()}, {stored} stored"


async def backfill_weather(ctx: AppContext, now: datetime | None = None) -> str:
    """Refetch Open-Meteo hours from the first missing hour in the last `backfill_max_days` days."""
    now = now or utc_now()
    end = hour_start(now) + HOUR
    start = end - timedelta(days=ctx.settings.backfill_max_days)
    gaps = await missing_hours(
        ctx.db, weather.c.ts, weather.c.source == weather_clients.OPEN_METEO, start, end
    )
    if not gaps:
        return "weather: no gap"
    past_days = min(ctx.settings.backfill_max_days, math.ceil((now - gaps[0]) / timedelta(days=1)))
    stored = await ingest_open_meteo(ctx, past_days=max(1, past_days), now=now)
    return f"weather: {len(gaps)} missing hour(s) from {gaps[0].isoformat()}, {stored} stored"


# --- scheduled jobs (registered in app/scheduler.py) ----------------------------------------------


async def ingest_prices_job(ctx: AppContext) -> str:
    return f"prices: {await ingest_prices(ctx)} hour(s) stored"


async def ingest_weather_job(ctx: AppContext) -> str:
    parts = [f"open-meteo: {await ingest_open_meteo(ctx)} hour(s) stored"]
    if ctx.settings.aemet_api_key:
        parts.append(f"aemet: {await ingest_aemet(ctx)} hour(s) stored")
    return "; ".join(parts)


async def backfill_gaps_job(ctx: AppContext) -> str:
    """Both backfills run even when one fails; the run fails if either did."""
    results: list[str] = []
    errors: list[UpstreamError] = []
    for backfill in (backfill_prices, backfill_weather):
        try:
            results.append(await backfill(ctx))
        except UpstreamError as exc:
            errors.append(exc)
            results.append(f"{exc} ({exc.reason})")
    if errors:
        raise BackfillFailed("; ".join(results))
    return "; ".join(results)
