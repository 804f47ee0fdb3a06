"""Ingestion: idempotent upserts, rejected answers change nothing, gaps after downtime are refetched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from app.bi import ingestion
from app.bi.tables import energy_prices, weather
from app.bi.tariff import SPAIN, hour_start, tariff_period
from app.bi.upstream import UpstreamError
from app.context import AppContext
from app.db import Database
from tests.bi.conftest import StandIn
from tests.standins.ree import pvpc_eur_mwh

HOUR = timedelta(hours=1)


async def _rows(db: Database, table: sa.Table) -> list[tuple[object, ...]]:
    async with db.connect() as conn:
        return [
            tuple(row) for row in await conn.execute(sa.select(table).order_by(*table.primary_key.columns))
        ]


def _rejected(source: str, reason: str) -> float:
    value = REGISTRY.get_sample_value("cf_ingestion_rejected_total", {"source": source, "reason": reason})
    return value or 0.0


async def test_prices_stored_twice_leave_one_row_per_hour(ctx: AppContext, ree: StandIn) -> None:
    now = datetime.now(UTC)
    start = ingestion.spanish_midnight(now - timedelta(days=1))
    end = start + 24 * HOUR
    first = await ingestion.ingest_prices(ctx, start, end, now=now)
    second = await ingestion.ingest_prices(ctx, start, end, now=now)
    rows = await _rows(ctx.db, energy_prices)
    assert first == second == len(rows) == 24
    for ts, price, period, source, _fetched in rows:
        assert isinstance(ts, datetime)
        assert price == pytest.approx(pvpc_eur_mwh(ts) / 1000)
        assert (period, source) == (tariff_period(ts), "ree")


async def test_a_rejected_price_answer_keeps_what_was_stored_and_is_counted(
    ctx: AppContext, ree: StandIn
) -> None:
    now = datetime.now(UTC)
    start = ingestion.spanish_midnight(now - timedelta(days=1))
    await ingestion.ingest_prices(ctx, start, start + 24 * HOUR, now=now)
    before = await _rows(ctx.db, energy_prices)
    for mode, reason in (("malformed", "malformed"), ("partial", "partial"), ("server_error", "http_status")):
        counted = _rejected("ree", reason)
        ree.set_mode(mode, times=1)
        with pytest.raises(UpstreamError):
            await ingestion.ingest_prices(ctx, start - 24 * HOUR, start + 24 * HOUR, now=now)
        assert _rejected("ree", reason) == counted + 1, f"{mode} is counted as {reason}"
    assert await _rows(ctx.db, energy_prices) == before, "no row added, changed or removed"


async def test_weather_stored_twice_and_a_partial_answer_changes_nothing(
    ctx: AppContext, open_meteo: StandIn
) -> None:
    assert await ingestion.ingest_open_meteo(ctx, past_days=1) > 0
    await ingestion.ingest_open_meteo(ctx, past_days=1)
    rows = await _rows(ctx.db, weather)
    assert len(rows) == len({(r[0], r[1]) for r in rows}), "one row per hour and source"
    horizon = hour_start(datetime.now(UTC)) + ctx.settings.weather_ahead_hours * HOUR
    assert max(r[0] for r in rows) <= horizon  # type: ignore[type-var]
    counted = _rejected("open-meteo", "partial")
    open_meteo.set_mode("partial")
    with pytest.raises(UpstreamError):
        await ingestion.ingest_open_meteo(ctx, past_days=2)
    assert await _rows(ctx.db, weather) == rows
    assert _rejected("open-meteo", "partial") == counted + 1


async def test_backfill_refetches_from_the_spanish_day_of_the_first_missing_hour(
    ctx: AppContext, ree: StandIn
) -> None:
    now = datetime.now(UTC)
    window_start = ingestion.spanish_midnight(
        hour_start(now) + HOUR - timedelta(days=ctx.settings.backfill_max_days)
    )
    await ingestion.ingest_prices(ctx, window_start, hour_start(now) + HOUR, now=now)
    gap_start = hour_start(now) - 30 * HOUR
    async with ctx.db.begin() as conn:
        await conn.execute(
            energy_prices.delete().where(
                energy_prices.c.ts >= gap_start, energy_prices.c.ts < gap_start + 5 * HOUR
            )
        )
    ree.reset()
    detail = await ingestion.backfill_prices(ctx, now=now)
    assert "5 missing hour(s)" in detail
    (request,) = ree.requests()
    gap_day = gap_start.astimezone(SPAIN).strftime("%Y-%m-%d")
    assert request["query"]["start_date"] == f"{gap_day}T00:00"
    rows = await _rows(ctx.db, energy_prices)
    stored = {r[0] for r in rows}
    assert {gap_start + i * HOUR for i in range(5)} <= stored
    assert len(rows) == len(stored)
    ree.reset()
    assert await ingestion.backfill_prices(ctx, now=now) == "prices: no gap"
    assert ree.requests() == [], "nothing missing, nothing asked"


async def test_backfill_after_a_long_outage_goes_back_at_most_the_configured_days(
    ctx: AppContext, ree: StandIn, open_meteo: StandIn
) -> None:
    now = datetime.now(UTC)
    await ingestion.backfill_prices(ctx, now=now)
    await ingestion.backfill_weather(ctx, now=now)
    (price_request,) = ree.requests()
    earliest = ingestion.spanish_midnight(
        hour_start(now) + HOUR - timedelta(days=ctx.settings.backfill_max_days)
    )
    assert price_request["query"]["start_date"] == earliest.astimezone(SPAIN).strftime("%Y-%m-%dT00:00")
    (weather_request,) = open_meteo.requests()
    assert weather_request["query"]["past_days"] == str(ctx.settings.backfill_max_days)
    async with ctx.db.connect() as conn:
        oldest = (await conn.execute(sa.select(sa.func.min(energy_prices.c.ts)))).scalar()
    assert oldest == earliest


async def test_the_gap_job_reports_each_source_even_when_one_fails(ctx: AppContext, ree: StandIn) -> None:
    ree.set_mode("server_error")
    with pytest.raises(ingestion.BackfillFailed, match="ree") as caught:
        await ingestion.backfill_gaps_job(ctx)
    assert "weather:" in str(caught.value), "the weather backfill still ran"
    async with ctx.db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(weather))).scalar() > 0
        assert (await conn.execute(sa.select(sa.func.count()).select_from(energy_prices))).scalar() == 0
