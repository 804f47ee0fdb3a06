"""The assistant's query tools: typed, thin wrappers over `app/bi/queries.py`.

Each tool is a pydantic model of its input (the JSON schema sent to the Messages API is generated from
it, so the schema and the validation are one fact) and an async function that answers it from the
database. Results are plain JSON: times in Europe/Madrid (ISO 8601 with the offset), units in the field
names (`_eur_kwh`, `_eur`, `_kg`, `_kwh`, `_c`, `_pct`), and the `source` of the data. A bad input
raises `ToolError` with a message naming the field, which goes back to the model as `is_error`.

Tool definitions: https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.bi import queries
from app.bi.tariff import SPAIN, hour_start
from app.db import Database
from app.settings import Settings

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
#: Longest range a tool reads, in days: enough for "last quarter", small enough to answer fast.
MAX_RANGE_DAYS = 92
#: Hourly rows listed in a result; longer ranges are summarised per day.
MAX_HOURLY_ROWS = 48
#: Longest product name passed on: names come from imports and reach the model as data.
MAX_PRODUCT_CHARS = 60


class ToolError(Exception):
    """A tool could not answer; the message names the input to fix and goes to the model as is_error."""


@dataclass(frozen=True)
class ToolContext:
    db: Database
    settings: Settings
    now: datetime  # aware UTC


# --- helpers -------------------------------------------------------------------------------------------


def iso(ts: datetime) -> str:
    """'2026-11-25T19:00+01:00': a moment on the factory's clock."""
    return ts.astimezone(SPAIN).isoformat(timespec="minutes")


def day_start(day: date) -> datetime:
    """Local midnight of `day`, in UTC."""
    return datetime.combine(day, time(0), SPAIN).astimezone(UTC)


def local_moment(value: datetime) -> datetime:
    """A tool's datetime input: naive means factory time."""
    return (value.replace(tzinfo=SPAIN) if value.tzinfo is None else value).astimezone(UTC)


def date_range(start: date, end: date | None, field: str = "start_date") -> tuple[datetime, datetime]:
    """[local midnight of start, local midnight after end) in UTC; end defaults to start."""
    end = end or start
    if end < start:
        raise ToolError(f"end_date ({end}) is before {field} ({start})")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ToolError(
            f"the range {start}..{end} is longer than {MAX_RANGE_DAYS} days; ask for a shorter one"
        )
    return day_start(start), day_start(end + timedelta(days=1))


def product_name(name: str) -> str:
    return name[:MAX_PRODUCT_CHARS]


def r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _sources(items: Sequence[Any]) -> str:
    names = sorted({item.source for item in items})
    return ",".join(names) if names else "none"


# --- inputs --------------------------------------------------------------------------------------------


class ToolInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PricesInput(ToolInput):
    start_date: date = Field(description="first day, YYYY-MM-DD (Europe/Madrid)")
    end_date: date | None = Field(default=None, description="last day, inclusive; default: start_date")
    from_hour: int = Field(default=0, ge=0, le=23, description="first local hour of each day to include")
    to_hour: int = Field(default=23, ge=0, le=23, description="last local hour of each day to include")


class CheapestWindowInput(ToolInput):
    hours: int = Field(ge=1, le=12, description="length of the window in consecutive hours")
    not_before: datetime | None = Field(
        default=None, description="earliest start, YYYY-MM-DDTHH:MM local; default: the current hour"
    )
    deadline: datetime | None = Field(
        default=None, description="the window must end by this, YYYY-MM-DDTHH:MM local; default: 24 h ahead"
    )
    count: int = Field(default=3, ge=1, le=5, description="how many non-overlapping windows, cheapest first")


class WeatherInput(ToolInput):
    start_date: date = Field(description="first day, YYYY-MM-DD (Europe/Madrid); past days are history")
    end_date: date | None = Field(default=None, description="last day, inclusive; future days are forecast")


class ProductionInput(ToolInput):
    start_date: date = Field(description="first day, YYYY-MM-DD (Europe/Madrid)")
    end_date: date | None = Field(default=None, description="last day, inclusive; default: start_date")
    group_by: Literal["total", "day", "week", "month", "product"] = Field(
        default="total", description="how to group the batches (week: ISO week starting Monday)"
    )
    product: str | None = Field(
        default=None,
        max_length=MAX_PRODUCT_CHARS,
        description="only batches whose product contains this text",
    )


class BatchesInput(ToolInput):
    start_date: date = Field(description="first day, YYYY-MM-DD (Europe/Madrid)")
    end_date: date | None = Field(default=None, description="last day, inclusive; default: start_date")
    product: str | None = Field(default=None, max_length=MAX_PRODUCT_CHARS, description="product contains")


class WhatIfInput(ToolInput):
    start_date: date = Field(description="first day of the batches to move, YYYY-MM-DD")
    end_date: date | None = Field(default=None, description="last day, inclusive; default: start_date")
    schedule: Literal["night", "start_hour", "cheapest"] = Field(
        description="night: every batch starts at 00:00 of its day (valle P3); start_hour: at "
        "`start_hour` of its day; cheapest: at the cheapest start of its day"
    )
    start_hour: int | None = Field(
        default=None, ge=0, le=23, description="local hour, for schedule=start_hour"
    )


class PeriodInput(ToolInput):
    start_date: date = Field(description="first day, YYYY-MM-DD")
    end_date: date = Field(description="last day, inclusive")


class CompareInput(ToolInput):
    metric: Literal["prices", "production", "weather"] = Field(description="what to compare")
    period_a: PeriodInput = Field(description="the first period (e.g. this week)")
    period_b: PeriodInput = Field(description="the period to compare it with (e.g. last week)")


class StatusInput(ToolInput):
    pass


# --- tools ---------------------------------------------------------------------------------------------


def _price_row(point: queries.PricePoint) -> dict[str, Any]:
    return {
        "time": iso(point.ts),
        "price_eur_kwh": r(point.price_eur_kwh, 5),
        "tariff_period": point.tariff_period,
    }


def _price_summary(points: Sequence[queries.PricePoint]) -> dict[str, Any]:
    if not points:
        return {"hours": 0}
    cheapest = min(points, key=lambda p: (p.price_eur_kwh, p.ts))
    dearest = max(points, key=lambda p: (p.price_eur_kwh, p.ts))
    periods = {}
    for period in ("P1", "P2", "P3"):
        values = [p.price_eur_kwh for p in points if p.tariff_period == period]
        if values:
            periods[period] = {"hours": len(values), "mean_price_eur_kwh": r(sum(values) / len(values), 5)}
    return {
        "hours": len(points),
        "mean_price_eur_kwh": r(sum(p.price_eur_kwh for p in points) / len(points), 5),
        "min_price_eur_kwh": r(cheapest.price_eur_kwh, 5),
        "min_at": iso(cheapest.ts),
        "max_price_eur_kwh": r(dearest.price_eur_kwh, 5),
        "max_at": iso(dearest.ts),
        "by_tariff_period": periods,
    }


async def get_prices(ctx: ToolContext, args: PricesInput) -> dict[str, Any]:
    start, end = date_range(args.start_date, args.end_date)
    if args.to_hour < args.from_hour:
        raise ToolError(f"to_hour ({args.to_hour}) is before from_hour ({args.from_hour})")
    points = [
        p
        for p in await queries.price_series(ctx.db, start, end)
        if args.from_hour <= p.ts.astimezone(SPAIN).hour <= args.to_hour
    ]
    result: dict[str, Any] = {
        "start_date": str(args.start_date),
        "end_date": str(args.end_date or args.start_date),
        **_price_summary(points),
        "source": _sources(points),
    }
    if not points:
        result["note"] = "no prices stored for these days (tomorrow's are published around 20:15)"
    elif len(points) <= MAX_HOURLY_ROWS:
        result["hourly"] = [_price_row(p) for p in points]
    else:
        days: dict[str, list[queries.PricePoint]] = {}
        for p in points:
            days.setdefault(p.ts.astimezone(SPAIN).date().isoformat(), []).append(p)
        result["daily"] = [
            {
                "date": day,
                "mean_price_eur_kwh": r(sum(p.price_eur_kwh for p in ps) / len(ps), 5),
                "min_price_eur_kwh": r(min(p.price_eur_kwh for p in ps), 5),
                "max_price_eur_kwh": r(max(p.price_eur_kwh for p in ps), 5),
            }
            for day, ps in days.items()
        ]
    return result


async def find_cheapest_window(ctx: ToolContext, args: CheapestWindowInput) -> dict[str, Any]:
    start = hour_start(local_moment(args.not_before)) if args.not_before else hour_start(ctx.now)
    if args.not_before and local_moment(args.not_before) > start:
        start += HOUR  # a window starts on a whole hour, never before `not_before`
    end = local_moment(args.deadline) if args.deadline else start + 24 * HOUR
    if end - start < args.hours * HOUR:
        raise ToolError(
            f"deadline {iso(end)} leaves less than {args.hours} h after {iso(start)}; "
            "move the deadline or not_before"
        )
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise ToolError(f"the range is longer than {MAX_RANGE_DAYS} days")
    points = await queries.price_series(ctx.db, start, end)
    windows = queries.cheapest_windows_in(points, args.hours, args.count) if points else []
    result: dict[str, Any] = {
        "hours": args.hours,
        "searched_from": iso(start),
        "searched_until": iso(end),
        "windows": [
            {
                "start": iso(w.start),
                "end": iso(w.end),
                "mean_price_eur_kwh": r(w.avg_price_eur_kwh, 5),
                "tariff_periods": sorted({p.tariff_period for p in w.prices}),
            }
            for w in windows
        ],
        "source": _sources(points),
    }
    if not windows:
        result["note"] = f"no {args.hours} consecutive hours with stored prices in this range"
    return result


def _band(ctx: ToolContext, temperature: float) -> str:
    return queries.comfort_status(temperature, ctx.settings.comfort_min_c, ctx.settings.comfort_max_c)


async def get_weather(ctx: ToolContext, args: WeatherInput) -> dict[str, Any]:
    start, end = date_range(args.start_date, args.end_date)
    hours = await queries.weather_hours(
        ctx.db, start, end, ctx.settings.comfort_min_c, ctx.settings.comfort_max_c
    )
    result: dict[str, Any] = {
        "start_date": str(args.start_date),
        "end_date": str(args.end_date or args.start_date),
        "comfort_min_c": ctx.settings.comfort_min_c,
        "comfort_max_c": ctx.settings.comfort_max_c,
        "hours": len(hours),
        "source": _sources(hours),
    }
    if not hours:
        result["note"] = "no weather stored for these days"
        return result
    coldest = min(hours, key=lambda h: (h.temperature_c, h.ts))
    hottest = max(hours, key=lambda h: (h.temperature_c, h.ts))
    above = [h for h in hours if _band(ctx, h.temperature_c) == "above"]
    below = [h for h in hours if _band(ctx, h.temperature_c) == "below"]
    outside = sorted(above + below, key=lambda h: h.ts)
    result |= {
        "history_hours": sum(h.ts <= ctx.now for h in hours),
        "forecast_hours": sum(h.ts > ctx.now for h in hours),
        "mean_temperature_c": r(sum(h.temperature_c for h in hours) / len(hours), 1),
        "min_temperature_c": coldest.temperature_c,
        "min_at": iso(coldest.ts),
        "max_temperature_c": hottest.temperature_c,
        "max_at": iso(hottest.ts),
        "hours_above_band": len(above),
        "hours_below_band": len(below),
        "hours_outside_band": len(outside),
        "first_outside_at": iso(outside[0].ts) if outside else None,
    }
    if len(hours) <= MAX_HOURLY_ROWS:
        result["hourly"] = [
            {"time": iso(h.ts), "temperature_c": h.temperature_c, "humidity_pct": h.humidity_pct,
             "band": _band(ctx, h.temperature_c)}
            for h in hours
        ]  # fmt: skip
    return result


def _group_label(batch: queries.Batch, group_by: str) -> str:
    local = batch.started_at.astimezone(SPAIN)
    if group_by == "day":
        return local.date().isoformat()
    if group_by == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if group_by == "month":
        return local.strftime("%Y-%m")
    if group_by == "product":
        return product_name(batch.product)
    return "total"


def _production_figures(batches: Sequence[queries.Batch], prices: dict[datetime, float]) -> dict[str, Any]:
    kg = sum(b.kg for b in batches)
    kwh = sum(b.kwh for b in batches)
    cost = priced = 0.0
    for batch in batches:
        c, p = queries.batch_energy_cost(batch, prices)
        cost, priced = cost + c, priced + p
    fully_priced = priced >= kwh * 0.999
    return {
        "batches": len(batches),
        "kg": r(kg, 1),
        "kwh": r(kwh, 1),
        "kwh_per_kg": r(kwh / kg, 3) if kg else None,
        "energy_cost_eur": r(cost, 2) if fully_priced else None,
        "eur_per_kg": r(cost / kg, 4) if kg and fully_priced else None,
        "priced_kwh": r(priced, 1),
    }


async def _batches_and_prices(
    ctx: ToolContext, start: datetime, end: datetime, product: str | None
) -> tuple[list[queries.Batch], dict[datetime, float]]:
    batches = await queries.list_batches(ctx.db, start, end, limit=5000)
    if product:
        wanted = product.casefold()
        batches = [b for b in batches if wanted in b.product.casefold()]
    batches.sort(key=lambda b: b.started_at)
    prices: dict[datetime, float] = {}
    if batches:
        prices = await queries.prices_by_hour(
            ctx.db,
            hour_start(batches[0].started_at) - 24 * HOUR,
            max(b.ended_at for b in batches) + 24 * HOUR,
        )
    return batches, prices


async def get_production(ctx: ToolContext, args: ProductionInput) -> dict[str, Any]:
    start, end = date_range(args.start_date, args.end_date)
    batches, prices = await _batches_and_prices(ctx, start, end, args.product)
    groups: dict[str, list[queries.Batch]] = {}
    for batch in batches:
        groups.setdefault(_group_label(batch, args.group_by), []).append(batch)
    result: dict[str, Any] = {
        "start_date": str(args.start_date),
        "end_date": str(args.end_date or args.start_date),
        "product_filter": args.product,
        "total": _production_figures(batches, prices),
        "source": _sources(batches),
    }
    if args.group_by != "total":
        result["group_by"] = args.group_by
        result["groups"] = [
            {"group": label, **_production_figures(bs, prices)} for label, bs in groups.items()
        ]
    if not batches:
        result["note"] = "no batches recorded in these days"
    return result


async def list_batches(ctx: ToolContext, args: BatchesInput) -> dict[str, Any]:
    start, end = date_range(args.start_date, args.end_date)
    batches, prices = await _batches_and_prices(ctx, start, end, args.product)
    rows = []
    for batch in batches[:50]:
        cost, priced = queries.batch_energy_cost(batch, prices)
        rows.append(
            {
                "start": iso(batch.started_at),
                "end": iso(batch.ended_at),
                "product": product_name(batch.product),
                "kg": r(batch.kg, 1),
                "kwh": r(batch.kwh, 1),
                "energy_cost_eur": r(cost, 2) if priced >= batch.kwh * 0.999 else None,
                "source": batch.source,
            }
        )
    return {
        "start_date": str(args.start_date),
        "end_date": str(args.end_date or args.start_date),
        "batches": rows,
        "listed": len(rows),
        "total_batches": len(batches),
    }


def _moved_start(batch: queries.Batch, args: WhatIfInput, prices: dict[datetime, float]) -> datetime | None:
    day = batch.started_at.astimezone(SPAIN).date()
    if args.schedule == "night":
        return day_start(day)
    if args.schedule == "start_hour":
        assert args.start_hour is not None
        return datetime.combine(day, time(args.start_hour), SPAIN).astimezone(UTC)
    best: tuple[float, datetime] | None = None
    for hour in range(24):
        start = datetime.combine(day, time(hour), SPAIN).astimezone(UTC)
        cost, priced = queries.batch_energy_cost(batch, prices, start)
        if priced >= batch.kwh * 0.999 and (best is None or cost < best[0]):
            best = (cost, start)
    return best[1] if best else None


async def what_if_schedule(ctx: ToolContext, args: WhatIfInput) -> dict[str, Any]:
    if args.schedule == "start_hour" and args.start_hour is None:
        raise ToolError("start_hour is required when schedule is start_hour")
    start, end = date_range(args.start_date, args.end_date)
    batches, prices = await _batches_and_prices(ctx, start, end, None)
    actual = moved = kwh = 0.0
    compared = skipped = 0
    for batch in batches:
        real, real_priced = queries.batch_energy_cost(batch, prices)
        new_start = _moved_start(batch, args, prices)
        alt, alt_priced = queries.batch_energy_cost(batch, prices, new_start) if new_start else (0.0, 0.0)
        if new_start is None or min(real_priced, alt_priced) < batch.kwh * 0.999:
            skipped += 1
            continue
        actual, moved, kwh, compared = actual + real, moved + alt, kwh + batch.kwh, compared + 1
    result: dict[str, Any] = {
        "start_date": str(args.start_date),
        "end_date": str(args.end_date or args.start_date),
        "schedule": args.schedule,
        "start_hour": args.start_hour
        if args.schedule == "start_hour"
        else (0 if args.schedule == "night" else None),
        "batches_compared": compared,
        "batches_without_prices": skipped,
        "kwh": r(kwh, 1),
        "actual_cost_eur": r(actual, 2),
        "moved_cost_eur": r(moved, 2),
        "saving_eur": r(actual - moved, 2),
        "saving_pct": r((actual - moved) / actual * 100, 1) if actual else None,
        "source": _sources(batches),
    }
    if not compared:
        result["note"] = "no batches with stored prices for both schedules in these days"
    return result


async def _period_figures(ctx: ToolContext, metric: str, period: PeriodInput) -> dict[str, Any]:
    if metric == "prices":
        summary = await get_prices(ctx, PricesInput(start_date=period.start_date, end_date=period.end_date))
        keys = ("hours", "mean_price_eur_kwh", "min_price_eur_kwh", "max_price_eur_kwh", "source")
        return {k: summary.get(k) for k in keys}
    if metric == "production":
        production = await get_production(
            ctx, ProductionInput(start_date=period.start_date, end_date=period.end_date)
        )
        return {**production["total"], "source": production["source"]}
    weather = await get_weather(ctx, WeatherInput(start_date=period.start_date, end_date=period.end_date))
    keys = ("hours", "mean_temperature_c", "max_temperature_c", "hours_outside_band", "source")
    return {k: weather.get(k) for k in keys}


async def compare_periods(ctx: ToolContext, args: CompareInput) -> dict[str, Any]:
    a = await _period_figures(ctx, args.metric, args.period_a)
    b = await _period_figures(ctx, args.metric, args.period_b)
    changes: dict[str, float | None] = {}
    for key, value in a.items():
        other = b.get(key)
        if isinstance(value, int | float) and isinstance(other, int | float) and key != "hours":
            digits = 5 if key.endswith("_eur_kwh") else 3
            changes[f"{key}_difference"] = round(value - other, digits)
            changes[f"{key}_change_pct"] = round((value - other) / other * 100, 1) if other else None
    return {
        "metric": args.metric,
        "period_a": {
            "start_date": str(args.period_a.start_date),
            "end_date": str(args.period_a.end_date),
            **a,
        },
        "period_b": {
            "start_date": str(args.period_b.start_date),
            "end_date": str(args.period_b.end_date),
            **b,
        },
        "a_minus_b": changes,
    }


async def get_status(ctx: ToolContext, args: StatusInput) -> dict[str, Any]:
    settings = ctx.settings
    price = await queries.current_price(ctx.db, ctx.now)
    reading = await queries.weather_now(ctx.db, ctx.now, settings.comfort_min_c, settings.comfort_max_c)
    today = ctx.now.astimezone(SPAIN).date()
    batches, prices = await _batches_and_prices(ctx, day_start(today), ctx.now + HOUR, None)
    ahead = await queries.prices_next_hours(ctx.db, 24, ctx.now)
    best = queries.cheapest_windows_in(ahead, settings.chat_batch_hours, 1) if ahead else []
    high = [p for p in ahead if p.price_eur_kwh > settings.chat_high_price_eur_kwh]
    alerts = []
    if high:
        alerts.append(f"{len(high)} h in the next 24 h above {settings.chat_high_price_eur_kwh} €/kWh")
    if reading is not None and reading.comfort != "within":
        alerts.append(f"temperature {reading.comfort} the comfort band")
    return {
        "now": iso(ctx.now),
        "price_now": _price_row(price) | {"source": price.source} if price else None,
        "weather_now": {
            "time": iso(reading.ts),
            "temperature_c": reading.temperature_c,
            "humidity_pct": reading.humidity_pct,
            "band": reading.comfort,
            "source": reading.source,
        }
        if reading
        else None,
        "production_today": _production_figures(batches, prices),
        "cheapest_window_next_24h": {
            "hours": settings.chat_batch_hours,
            "start": iso(best[0].start),
            "end": iso(best[0].end),
            "mean_price_eur_kwh": r(best[0].avg_price_eur_kwh, 5),
        }
        if best
        else None,
        "alerts": alerts,
    }


# --- registry ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_model: type[ToolInput]
    run: Callable[[ToolContext, Any], Awaitable[dict[str, Any]]]

    def definition(self) -> dict[str, Any]:
        """The tool as the Messages API takes it: name, description, input_schema (JSON Schema)."""
        return {"name": self.name, "description": self.description, "input_schema": _schema(self.input_model)}


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """Pydantic's JSON schema, self-contained: `$ref`s inlined, `$defs` and generated titles dropped."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = definitions[node["$ref"].rsplit("/", 1)[-1]]
                return clean({**target, **{k: v for k, v in node.items() if k != "$ref"}})
            return {k: clean(v) for k, v in node.items() if k != "title" or not isinstance(v, str)}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    cleaned: dict[str, Any] = clean(schema)
    return cleaned


TOOLS: tuple[Tool, ...] = (
    Tool("get_status", "Now: current price and tariff period, weather against the comfort band, today's "
         "production, the cheapest window of the next 24 h, and alerts.", StatusInput, get_status),
    Tool("get_prices", "Hourly electricity prices (PVPC, €/kWh) with their 2.0TD tariff period for a day or "
         "range of days, with min, mean, max and per-period means; optionally only some hours of each day.",
         PricesInput, get_prices),
    Tool("find_cheapest_window", "The cheapest windows of N consecutive hours between not_before and a "
         "deadline, cheapest first, with their mean price.", CheapestWindowInput, find_cheapest_window),
    Tool("get_weather", "Temperature history and forecast at the factory for a day or range, against the "
         "chocolate comfort band: min, max, mean, hours above/below/outside the band.", WeatherInput,
         get_weather),
    Tool("get_production", "Production in a range: batches, kg, kWh, kWh/kg, energy cost € and €/kg, in "
         "total or grouped by day, week, month or product; optionally one product.", ProductionInput,
         get_production),
    Tool("list_batches", "The production batches of a range with start, end, product, kg, kWh and energy "
         "cost €.", BatchesInput, list_batches),
    Tool("what_if_schedule", "What the batches of a range would have cost in energy if moved to another "
         "schedule (night, a fixed start hour, or the cheapest start of their day), against what they "
         "really cost; the saving in € and %.", WhatIfInput, what_if_schedule),
    Tool("compare_periods", "Compare prices, production or weather between two periods (e.g. this week "
         "against last week): both periods' figures and their difference.", CompareInput, compare_periods),
)  # fmt: skip
TOOLS_BY_NAME = {tool.name: tool for tool in TOOLS}


@functools.cache
def _definitions() -> tuple[dict[str, Any], ...]:
    return tuple(tool.definition() for tool in TOOLS)


def definitions() -> list[dict[str, Any]]:
    """The tools as the Messages API takes them (built once: the schemas never change)."""
    return list(_definitions())


def _validation_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "input"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


async def call(ctx: ToolContext, name: str, arguments: Any) -> dict[str, Any]:
    """Run tool `name` with the model's `arguments`; raises `ToolError` with a message for the model."""
    tool = TOOLS_BY_NAME.get(name)
    if tool is None:
        raise ToolError(f"unknown tool {name[:60]!r}; the tools are {', '.join(TOOLS_BY_NAME)}")
    try:
        parsed = tool.input_model.model_validate(arguments if arguments is not None else {})
    except ValidationError as error:
        raise ToolError(f"invalid input for {name}: {_validation_message(error)}") from None
    result = await tool.run(ctx, parsed)
    return {"tool": name, "timezone": "Europe/Madrid", **result}


async def call_many(ctx: ToolContext, calls: Sequence[tuple[str, Any]]) -> list[dict[str, Any] | ToolError]:
    """Several tools at once (the model may ask for several in one turn); an error is returned, not raised."""

    async def one(name: str, arguments: Any) -> dict[str, Any] | ToolError:
        try:
            return await call(ctx, name, arguments)
        except ToolError as error:
            return error
        except Exception:  # the model hears that the data could not be read; the log has the detail
            log.exception("chat: tool %s failed", name)
            return ToolError(f"{name} could not read the factory database just now")

    return list(await asyncio.gather(*(one(name, arguments) for name, arguments in calls)))
