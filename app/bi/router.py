"""HTTP endpoints of the bi feature: production batches and the queries the dashboard reads.

Thin: parse, call app/bi/queries.py or app/bi/production.py, shape the response. Units are in the field
names (€/kWh, °C, %, kg, kWh); times are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from app.analytics.access import is_analytics_reader
from app.bi import queries
from app.bi.production import BatchIn, insert_batches
from app.bi.tariff import TariffPeriod, hour_start
from app.bi.writers import require_production_writer
from app.context import AppContext, get_context
from app.db import utc_now
from app.inputs import DATE_RANGE, date_range_error

router = APIRouter(tags=["bi"])
Context = Annotated[AppContext, Depends(get_context)]
Writer = Annotated[str, Depends(require_production_writer)]


class PricePointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ts: datetime = Field(description="start of the hour, UTC")
    price_eur_kwh: float
    tariff_period: TariffPeriod
    source: str = Field(description="ree or sample")


class PriceSeriesOut(BaseModel):
    start: datetime
    end: datetime = Field(description="exclusive")
    prices: list[PricePointOut]
    min_price_eur_kwh: float | None = Field(description="of the stored hours in the period; null: none")
    avg_price_eur_kwh: float | None
    max_price_eur_kwh: float | None


class PriceWindowOut(BaseModel):
    start: datetime
    end: datetime = Field(description="exclusive")
    hours: int
    avg_price_eur_kwh: float
    tariff_periods: list[TariffPeriod] = Field(description="periods of the window's hours, in order")


class PriceWindowsOut(BaseModel):
    within_hours: int
    duration_hours: int
    windows: list[PriceWindowOut] = Field(description="cheapest first, never overlapping")


class PeriodStatsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tariff_period: TariffPeriod
    hours: int
    avg_price_eur_kwh: float


class PriceStatsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    days: int
    start: datetime
    end: datetime
    hours: int = Field(description="hours with a stored price in [start, end)")
    min_price_eur_kwh: float | None
    avg_price_eur_kwh: float | None
    max_price_eur_kwh: float | None
    cheapest: PricePointOut | None
    priciest: PricePointOut | None
    by_period: list[PeriodStatsOut]


class WeatherNowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ts: datetime
    temperature_c: float
    humidity_pct: float
    source: str
    comfort_min_c: float
    comfort_max_c: float
    comfort: Literal["below", "within", "above"] = Field(description="temperature against the comfort band")


class WeatherHourOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ts: datetime = Field(description="start of the hour, UTC")
    temperature_c: float
    humidity_pct: float
    source: str
    comfort: Literal["below", "within", "above"]


class WeatherForecastOut(BaseModel):
    start: datetime
    end: datetime = Field(description="exclusive")
    comfort_min_c: float
    comfort_max_c: float
    hours_below: int = Field(description="hours in the forecast colder than the comfort band")
    hours_above: int = Field(description="hours in the forecast warmer than the comfort band")
    hours: list[WeatherHourOut] = Field(description="one per stored hour, the preferred source's")


class ProductSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product: str
    batches: int
    kg: float
    kwh: float
    kwh_per_kg: float | None
    energy_cost_eur: float | None
    eur_per_kg: float | None


class ProductionSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    start: datetime
    end: datetime
    batches: int
    kg: float
    kwh: float
    kwh_per_kg: float | None
    energy_cost_eur: float | None = Field(description="kWh priced at the stored hourly prices")
    priced_kwh: float = Field(description="how much of kwh had a stored price")
    eur_per_kg: float | None = Field(description="energy cost per kg, when every kWh was priced")
    by_product: list[ProductSummaryOut]


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    started_at: datetime
    ended_at: datetime
    product: str
    kg: float
    kwh: float
    source: str = Field(description="api, csv or sample")
    written_at: datetime = Field(description="when the batch was recorded")
    written_by: str | None = Field(
        description="who recorded it (a login, or sample-data); shown to tailnet admins only, else null"
    )


class BatchesOut(BaseModel):
    start: datetime
    end: datetime
    batches: list[BatchOut]


class BatchCreated(BaseModel):
    id: int | None = Field(description="the new batch's id; null when it was already stored")
    duplicate: bool = Field(description="a batch with the same start and product already existed")


class FreshnessOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    dataset: Literal["prices", "weather", "production"]
    source: str
    rows: int
    newest_ts: datetime | None
    last_fetched_at: datetime | None
    age_seconds: float | None


class FreshnessListOut(BaseModel):
    sources: list[FreshnessOut]


def _query_error(name: str, message: str) -> RequestValidationError:
    """A 422 shaped like FastAPI's own (the documented `HTTPValidationError`), naming the parameter."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", name), "msg": message}])


MAX_PERIOD_DAYS = 366
PeriodDays = Annotated[int | None, Query(ge=1, le=MAX_PERIOD_DAYS, description="the last N days (default 7)")]
PeriodStart = Annotated[
    datetime | None, Query(description=f"or a period: start (ISO 8601 with offset), {DATE_RANGE}")
]
PeriodEnd = Annotated[
    datetime | None, Query(description=f"and end, exclusive, at most {MAX_PERIOD_DAYS} days after start")
]


def _period(days: int | None, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[start, end) from the query: both given (with UTC offsets), or the last `days` (default 7)."""
    start, end = _in_range(start, "start"), _in_range(end, "end")
    if start is not None or end is not None:
        if start is None or end is None:
            raise _query_error("start" if start is None else "end", "give both `start` and `end`, or `days`")
        if end <= start:
            raise _query_error("end", "`end` must be after `start`")
        if end - start > timedelta(days=MAX_PERIOD_DAYS):
            raise _query_error("end", f"a period spans at most {MAX_PERIOD_DAYS} days")
        return start, end
    now = utc_now()
    return now - timedelta(days=days or 7), now


def _in_range(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise _query_error(name, f"`{name}` needs a UTC offset, e.g. 2026-06-10T00:00:00+02:00")
    error = date_range_error(value)
    if error is not None:
        raise _query_error(name, f"`{name}` {error}")
    return value


@router.get(
    "/bi/prices/current", response_model=PricePointOut, responses={404: {"description": "not stored"}}
)
async def price_now(ctx: Context) -> PricePointOut:
    """The price and 2.0TD tariff period of the current hour."""
    point = await queries.current_price(ctx.db)
    if point is None:
        raise HTTPException(404, "no price stored for the current hour (see /ready for the REE source)")
    return PricePointOut.model_validate(point)


#: The longest period /bi/prices answers for at once (a quarter of hourly prices).
MAX_PRICE_PERIOD = timedelta(days=93)


@router.get("/bi/prices", response_model=PriceSeriesOut)
async def price_series(
    ctx: Context,
    hours: Annotated[int, Query(ge=1, le=168, description="how many hours")] = 24,
    direction: Annotated[Literal["next", "last"], Query(description="from now on, or up to now")] = "next",
    start: PeriodStart = None,
    end: PeriodEnd = None,
) -> PriceSeriesOut:
    """Hourly prices of the next (from the current hour on) or last (up to the current hour) `hours`,
    or of the period [`start`, `end`) when both are given (at most 93 days)."""
    if start is not None or end is not None:
        period_start, period_end = _period(None, start, end)
        if period_end - period_start > MAX_PRICE_PERIOD:
            raise _query_error("end", "a price period is at most 93 days long")
        points = await queries.price_series(ctx.db, period_start, period_end)
    else:
        now = utc_now()
        if direction == "next":
            points = await queries.prices_next_hours(ctx.db, hours, now)
            period_start = hour_start(now)
        else:
            points = await queries.prices_last_hours(ctx.db, hours, now)
            period_start = hour_start(now) - timedelta(hours=hours - 1)
        period_end = period_start + timedelta(hours=hours)
    values = [p.price_eur_kwh for p in points]
    return PriceSeriesOut(
        start=period_start,
        end=period_end,
        prices=[PricePointOut.model_validate(p) for p in points],
        min_price_eur_kwh=min(values) if values else None,
        avg_price_eur_kwh=sum(values) / len(values) if values else None,
        max_price_eur_kwh=max(values) if values else None,
    )


@router.get("/bi/prices/cheapest-windows", response_model=PriceWindowsOut)
async def cheapest_windows(
    ctx: Context,
    hours: Annotated[int, Query(ge=1, le=72, description="look this many hours ahead")] = 24,
    duration: Annotated[
        int | None,
        Query(ge=1, le=24, description="length of each window, hours (default CF_CHAT_BATCH_HOURS)"),
    ] = None,
    count: Annotated[int, Query(ge=1, le=10, description="how many windows")] = 3,
) -> PriceWindowsOut:
    """The cheapest windows of `duration` consecutive hours starting within the next `hours`.

    Without `duration`, the production window length the chat uses too (`CF_CHAT_BATCH_HOURS`)."""
    duration = duration or ctx.settings.chat_batch_hours
    windows = await queries.cheapest_windows(ctx.db, hours=duration, count=count, within_hours=hours)
    return PriceWindowsOut(
        within_hours=hours,
        duration_hours=duration,
        windows=[
            PriceWindowOut(
                start=w.start,
                end=w.end,
                hours=w.hours,
                avg_price_eur_kwh=w.avg_price_eur_kwh,
                tariff_periods=[p.tariff_period for p in w.prices],
            )
            for w in windows
        ],
    )


@router.get("/bi/prices/stats", response_model=PriceStatsOut)
async def price_stats(
    ctx: Context, days: Annotated[int, Query(ge=1, le=366, description="days up to now")] = 7
) -> PriceStatsOut:
    """Minimum, mean and maximum price over the last `days` days, overall and per tariff period."""
    stats = await queries.price_stats(ctx.db, days)
    return PriceStatsOut.model_validate(stats)


@router.get(
    "/bi/weather/current", response_model=WeatherNowOut, responses={404: {"description": "not stored"}}
)
async def weather_now(ctx: Context) -> WeatherNowOut:
    """Temperature and humidity of the current hour at the factory, against chocolate's comfort band."""
    settings = ctx.settings
    reading = await queries.weather_now(
        ctx.db, comfort_min_c=settings.comfort_min_c, comfort_max_c=settings.comfort_max_c
    )
    if reading is None:
        raise HTTPException(
            404, "no weather stored for the last 6 hours (see /ready for the weather sources)"
        )
    return WeatherNowOut.model_validate(reading)


@router.get("/bi/weather/forecast", response_model=WeatherForecastOut)
async def weather_forecast(
    ctx: Context,
    hours: Annotated[int, Query(ge=1, le=168, description="hours from the current one on")] = 48,
) -> WeatherForecastOut:
    """Hourly weather from the current hour on, against the comfort band, with the hours outside it."""
    settings = ctx.settings
    start = hour_start(utc_now())
    end = start + timedelta(hours=hours)
    rows = await queries.weather_hours(
        ctx.db, start, end, comfort_min_c=settings.comfort_min_c, comfort_max_c=settings.comfort_max_c
    )
    return WeatherForecastOut(
        start=start,
        end=end,
        comfort_min_c=settings.comfort_min_c,
        comfort_max_c=settings.comfort_max_c,
        hours_below=sum(1 for r in rows if r.comfort == "below"),
        hours_above=sum(1 for r in rows if r.comfort == "above"),
        hours=[WeatherHourOut.model_validate(r) for r in rows],
    )


@router.get("/bi/production/summary", response_model=ProductionSummaryOut)
async def production_summary(
    ctx: Context,
    days: PeriodDays = None,
    start: PeriodStart = None,
    end: PeriodEnd = None,
) -> ProductionSummaryOut:
    """Production and energy per kg of the batches that started in the period, in total and per product."""
    period_start, period_end = _period(days, start, end)
    summary = await queries.production_summary(ctx.db, period_start, period_end)
    return ProductionSummaryOut.model_validate(summary)


@router.post(
    "/production/batches",
    response_model=BatchCreated,
    status_code=201,
    responses={403: {"description": "not a writer of CF_PRODUCTION_WRITERS"}},
)
async def record_batch(ctx: Context, batch: BatchIn, writer: Writer) -> BatchCreated:
    """Record one production batch (source `api`). Recording the same start and product twice stores one.

    Needs a writer allowed by CF_PRODUCTION_WRITERS (app/bi/writers.py), recorded with the batch.
    """
    too_long = batch.duration_error(ctx.settings.production_batch_max_hours)
    if too_long is not None:
        raise RequestValidationError([{"type": "value_error", "loc": ("body", "ended_at"), "msg": too_long}])
    ids, duplicates = await insert_batches(ctx.db, [batch], "api", writer)
    return BatchCreated(id=ids[0] if ids else None, duplicate=duplicates > 0)


@router.get("/production/batches", response_model=BatchesOut)
async def list_batches(
    request: Request,
    ctx: Context,
    days: PeriodDays = None,
    start: PeriodStart = None,
    end: PeriodEnd = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> BatchesOut:
    """Batches that started in the period, newest first."""
    period_start, period_end = _period(days, start, end)
    batches = await queries.list_batches(ctx.db, period_start, period_end, limit)
    show_writers = is_analytics_reader(request, ctx.settings)
    return BatchesOut(
        start=period_start,
        end=period_end,
        batches=[_batch_out(b, show_writers) for b in batches],
    )


def _batch_out(batch: queries.Batch, show_writer: bool) -> BatchOut:
    """The batch as listed; its writer's login only for those who may see logins (the analytics' admins)."""
    listed = BatchOut.model_validate(batch)
    return listed if show_writer else listed.model_copy(update={"written_by": None})


@router.get("/bi/freshness", response_model=FreshnessListOut)
async def freshness(ctx: Context) -> FreshnessListOut:
    """Per stored source: rows, newest hour, last delivery and its age (see /ready for the verdict)."""
    return FreshnessListOut(
        sources=[FreshnessOut.model_validate(f) for f in await queries.data_freshness(ctx.db)]
    )
