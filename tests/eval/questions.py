"""The evaluation's questions: what a factory manager asks, and the figure that answers it, by SQL.

Each case has the question (Spanish or English, some with typos, some follow-ups of an earlier case),
the tool calls a competent model makes for it (the scripted model replays them), and an `expected`
query that computes the answering figure straight from the database with SQL at run time, so the
expectation never comes from the code under test. The clock is fixed: Wednesday 2026-11-25 15:56 in
Madrid, with `app.bi.sample_data` loaded for the 30 days before it and the 24 hours after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.bi.tables import energy_prices, production_batches, weather

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 25, 14, 56, tzinfo=UTC)  # 15:56 in Madrid, a Wednesday
TODAY = date(2026, 11, 25)
HOUR = timedelta(hours=1)

Expected = Callable[[AsyncConnection], Awaitable[float]]


def local(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), MADRID).astimezone(UTC)


def days(first: date, last: date) -> tuple[datetime, datetime]:
    return local(first), local(last + timedelta(days=1))


def d(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def iso(day: date) -> str:
    return day.isoformat()


# --- SQL ------------------------------------------------------------------------------------------------


async def scalar(conn: AsyncConnection, query: Any) -> float:
    value = (await conn.execute(query)).scalar()
    if value is None:
        raise LookupError("the sample data holds nothing for this question")
    return float(value)


def price_at(day: date, hour: int) -> Expected:
    async def run(conn: AsyncConnection) -> float:
        query = sa.select(energy_prices.c.price_eur_kwh).where(energy_prices.c.ts == local(day, hour))
        return await scalar(conn, query)

    return run


def price(aggregate: Callable[[Any], Any], first: date, last: date, hours: range = range(24)) -> Expected:
    async def run(conn: AsyncConnection) -> float:
        start, end = days(first, last)
        rows = (
            await conn.execute(
                sa.select(energy_prices.c.ts, energy_prices.c.price_eur_kwh).where(
                    energy_prices.c.ts >= start, energy_prices.c.ts < end
                )
            )
        ).all()
        wanted = [r.ts for r in rows if r.ts.replace(tzinfo=UTC).astimezone(MADRID).hour in hours]
        return await scalar(
            conn, sa.select(aggregate(energy_prices.c.price_eur_kwh)).where(energy_prices.c.ts.in_(wanted))
        )

    return run


def cheapest_window(hours: int, start: datetime, end: datetime) -> Expected:
    """The lowest mean of `hours` consecutive stored hours in [start, end), by a SQL window function."""

    async def run(conn: AsyncConnection) -> float:
        inner = (
            sa.select(
                sa.func.avg(energy_prices.c.price_eur_kwh)
                .over(order_by=energy_prices.c.ts, rows=(0, hours - 1))
                .label("mean"),
                sa.func.count().over(order_by=energy_prices.c.ts, rows=(0, hours - 1)).label("n"),
                sa.func.max(energy_prices.c.ts)
                .over(order_by=energy_prices.c.ts, rows=(0, hours - 1))
                .label("last"),
            )
            .where(energy_prices.c.ts >= start, energy_prices.c.ts < end)
            .subquery()
        )
        return await scalar(conn, sa.select(sa.func.min(inner.c.mean)).where(inner.c.n == hours))

    return run


def temperature(aggregate: Callable[[Any], Any], first: date, last: date) -> Expected:
    async def run(conn: AsyncConnection) -> float:
        start, end = days(first, last)
        query = sa.select(aggregate(weather.c.temperature_c)).where(weather.c.ts >= start, weather.c.ts < end)
        return await scalar(conn, query)

    return run


def temperature_at(day: date, hour: int) -> Expected:
    async def run(conn: AsyncConnection) -> float:
        return await scalar(conn, sa.select(weather.c.temperature_c).where(weather.c.ts == local(day, hour)))

    return run


def hours_outside(first: date, last: date, low: float = 15.0, high: float = 22.0) -> Expected:
    async def run(conn: AsyncConnection) -> float:
        start, end = days(first, last)
        query = sa.select(sa.func.count()).where(
            weather.c.ts >= start,
            weather.c.ts < end,
            sa.or_(weather.c.temperature_c < low, weather.c.temperature_c > high),
        )
        return await scalar(conn, query)

    return run


def production(
    measure: Literal["kg", "kwh", "kwh_per_kg", "batches"],
    first: date,
    last: date,
    product: str | None = None,
) -> Expected:
    async def run(conn: AsyncConnection) -> float:
        start, end = days(first, last)
        b = production_batches.c
        where = [b.started_at >= start, b.started_at < end] + ([b.product == product] if product else [])
        column = {
            "kg": sa.func.sum(b.kg),
            "kwh": sa.func.sum(b.kwh),
            "kwh_per_kg": sa.func.sum(b.kwh) / sa.func.sum(b.kg),
            "batches": sa.func.count(),
        }[measure]
        return await scalar(conn, sa.select(column).where(*where))

    return run


def _batch_costs(first: date, last: date, product: str | None) -> Any:
    """Per batch: its kWh spread over its hours, priced at the stored price of each hour (a SQL join)."""
    start, end = days(first, last)
    b, p = production_batches.c, energy_prices.c
    where = [b.started_at >= start, b.started_at < end] + ([b.product == product] if product else [])
    hours = sa.func.count(p.ts)
    on = sa.and_(p.ts >= b.started_at, p.ts < b.ended_at)
    return (
        sa.select((sa.func.sum(p.price_eur_kwh) * b.kwh / hours).label("cost"), b.kg)
        .select_from(production_batches.join(energy_prices, on))
        .where(*where)
        .group_by(b.id)
    )


def energy_cost(first: date, last: date, product: str | None = None, per_kg: bool = False) -> Expected:
    async def run(conn: AsyncConnection) -> float:
        costs = _batch_costs(first, last, product).subquery()
        total = sa.func.sum(costs.c.cost) / sa.func.sum(costs.c.kg) if per_kg else sa.func.sum(costs.c.cost)
        return await scalar(conn, sa.select(total))

    return run


def saving_if_moved(first: date, last: date, start_hour: int | None) -> Expected:
    """Real cost minus the cost at `start_hour` of each batch's day (None: its cheapest start), in €."""

    async def run(conn: AsyncConnection) -> float:
        start, end = days(first, last)
        b, p = production_batches.c, energy_prices.c
        query = sa.select(b.started_at, b.ended_at, b.kwh).where(b.started_at >= start, b.started_at < end)
        batches = (await conn.execute(query)).all()
        saving = 0.0
        for row in batches:
            began = row.started_at.replace(tzinfo=UTC)
            length = round((row.ended_at.replace(tzinfo=UTC) - began) / HOUR)

            async def cost(first_hour: datetime, length: int = length, kwh: float = row.kwh) -> float | None:
                query = sa.select(sa.func.sum(p.price_eur_kwh), sa.func.count()).where(
                    p.ts >= first_hour, p.ts < first_hour + length * HOUR
                )
                total, n = (await conn.execute(query)).one()
                return None if n != length else float(total) * kwh / length

            real = await cost(began)
            day = began.astimezone(MADRID).date()
            starts = [start_hour] if start_hour is not None else list(range(24))
            options = [c for h in starts if (c := await cost(local(day, h))) is not None]
            if real is not None and options:
                saving += real - min(options)
        return saving

    return run


# --- cases ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    language: Literal["es", "en"]
    calls: list[tuple[str, dict[str, Any]]]
    expected: Expected
    follows: str | None = None  # the id of the case asked just before, in the same conversation
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


def prices_call(first: date, last: date | None = None, **hours: int) -> tuple[str, dict[str, Any]]:
    return ("get_prices", {"start_date": iso(first), "end_date": iso(last or first), **hours})


def production_call(first: date, last: date, **extra: Any) -> tuple[str, dict[str, Any]]:
    return ("get_production", {"start_date": iso(first), "end_date": iso(last), **extra})


def weather_call(first: date, last: date | None = None) -> tuple[str, dict[str, Any]]:
    return ("get_weather", {"start_date": iso(first), "end_date": iso(last or first)})


THIS_WEEK = (d(-2), d(4))  # Monday 23 .. Sunday 29
LAST_WEEK = (d(-9), d(-3))  # Monday 16 .. Sunday 22
THIS_WEEK_DATES = {"start_date": iso(THIS_WEEK[0]), "end_date": iso(THIS_WEEK[1])}
LAST_WEEK_DATES = {"start_date": iso(LAST_WEEK[0]), "end_date": iso(LAST_WEEK[1])}
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
NEXT_24H = (local(TODAY, 15), local(TODAY, 15) + 24 * HOUR)

CASES: list[Case] = [
    Case("price-now-es", "¿Cuál es el precio de la luz ahora?", "es",
         [prices_call(TODAY, from_hour=15, to_hour=15)], price_at(TODAY, 15)),
    Case("price-now-en", "What's the electricity price right now?", "en",
         [prices_call(TODAY, from_hour=15, to_hour=15)], price_at(TODAY, 15)),
    Case("price-tomorrow-3-es", "¿Cuánto costará la luz mañana a las 3:00?", "es",
         [prices_call(d(1), from_hour=3, to_hour=3)], price_at(d(1), 3)),
    Case("price-tomorrow-typo-en", "how much will electrcity cost tomorow at 10:00?", "en",
         [prices_call(d(1), from_hour=10, to_hour=10)], price_at(d(1), 10), tags=("typo",)),
    Case("price-tomorrow-2am-followup-en", "and tomorrow at 2 am?", "en",
         [prices_call(d(1), from_hour=2, to_hour=2)], price_at(d(1), 2), follows="price-now-en",
         tags=("follow-up",)),
    Case("mean-price-today-es", "¿Cuál es el precio medio de hoy?", "es",
         [prices_call(TODAY)], price(sa.func.avg, TODAY, TODAY)),
    Case("mean-price-yesterday-en", "What was the average price yesterday?", "en",
         [prices_call(d(-1))], price(sa.func.avg, d(-1), d(-1))),
    Case("dearest-last-tuesday-en", "the dearest hour last Tuesday and what we were producing", "en",
         [prices_call(d(-1)), ("list_batches", {"start_date": iso(d(-1))})],
         price(sa.func.max, d(-1), d(-1))),
    Case("cheapest-hour-yesterday-es", "¿Cuál fue la hora más barata ayer?", "es",
         [prices_call(d(-1))], price(sa.func.min, d(-1), d(-1))),
    Case("mean-price-monday-20-es", "¿Cuánto costaba la luz el lunes a las 20:00?", "es",
         [prices_call(d(-2), from_hour=20, to_hour=20)], price_at(d(-2), 20)),
    Case("mean-price-sunday-es", "¿Cuál fue el precio medio del domingo?", "es",
         [prices_call(d(-3))], price(sa.func.avg, d(-3), d(-3))),
    Case("price-october-es", "¿Cuál fue el precio medio en octubre?", "es",
         [prices_call(*OCTOBER)], price(sa.func.avg, *OCTOBER)),
    Case("price-madrugada-es", "¿Cuánto cuesta la luz de madrugada hoy?", "es",
         [prices_call(TODAY, from_hour=0, to_hour=6)], price(sa.func.avg, TODAY, TODAY, range(7))),
    Case("cheapest-window-today-es", "¿Cuándo es más barato producir hoy?", "es",
         [("find_cheapest_window", {"hours": 3})], cheapest_window(3, *NEXT_24H)),
    Case("cheapest-4h-en", "the cheapest 4-hour window", "en",
         [("find_cheapest_window", {"hours": 4})], cheapest_window(4, *NEXT_24H)),
    Case("cheapest-4h-deadline-es", "la ventana de 4 horas más barata mañana antes de las 14:00", "es",
         [("find_cheapest_window", {"hours": 4, "not_before": f"{iso(d(1))}T00:00",
                                    "deadline": f"{iso(d(1))}T14:00"})],
         cheapest_window(4, local(d(1)), local(d(1), 14))),
    Case("best-2h-conchadora-en", "best 2 hours to run the conchadora", "en",
         [("find_cheapest_window", {"hours": 2})], cheapest_window(2, *NEXT_24H), tags=("trade word",)),
    Case("cheapest-hour-tomorrow-es", "¿Cuál es la hora más barata de mañana?", "es",
         [("find_cheapest_window", {"hours": 1, "not_before": f"{iso(d(1))}T00:00",
                                    "deadline": f"{iso(d(2))}T00:00"})],
         price(sa.func.min, d(1), d(1))),
    Case("cheapest-window-typo-es", "cuando es mas barto producir mañna", "es",
         [("find_cheapest_window", {"hours": 3, "not_before": f"{iso(d(1))}T00:00",
                                    "deadline": f"{iso(d(2))}T00:00"})],
         cheapest_window(3, local(d(1)), local(d(2))), tags=("typo",)),
    Case("temperature-now-es", "¿Qué temperatura hace ahora?", "es",
         [("get_status", {})], temperature_at(TODAY, 15)),
    Case("outside-band-last-week-en", "how many hours were outside the comfort band last week?", "en",
         [weather_call(*LAST_WEEK)], hours_outside(*LAST_WEEK)),
    Case("below-15-last-week-es", "¿Cuántas horas por debajo de 15 grados hubo la semana pasada?", "es",
         [weather_call(*LAST_WEEK)], hours_outside(*LAST_WEEK)),
    Case("max-temp-last-week-en", "hours above 22 °C last week and the highest temperature", "en",
         [weather_call(*LAST_WEEK)], temperature(sa.func.max, *LAST_WEEK)),
    Case("max-temp-yesterday-typo-en", "what was the hottest temprature yesterday", "en",
         [weather_call(d(-1))], temperature(sa.func.max, d(-1), d(-1)), tags=("typo",)),
    Case("min-temp-yesterday-en", "How cold did it get yesterday?", "en",
         [weather_call(d(-1))], temperature(sa.func.min, d(-1), d(-1))),
    Case("weather-tomorrow-es", "¿Qué tiempo hará mañana? ¿hará calor?", "es",
         [weather_call(d(1))], temperature(sa.func.max, d(1), d(1))),
    Case("weather-yesterday-followup-es", "¿y ayer?", "es",
         [weather_call(d(-1))], temperature(sa.func.max, d(-1), d(-1)), follows="weather-tomorrow-es",
         tags=("follow-up",)),
    Case("warm-now-en", "is it warm in the plant now?", "en",
         [("get_status", {})], temperature_at(TODAY, 15)),
    Case("kg-this-week-es", "¿Cuánto hemos fabricado esta semana?", "es",
         [production_call(*THIS_WEEK)], production("kg", *THIS_WEEK)),
    Case("kg-last-week-followup-es", "¿y la semana pasada?", "es",
         [production_call(*LAST_WEEK)], production("kg", *LAST_WEEK), follows="kg-this-week-es",
         tags=("follow-up",)),
    Case("kwh-conchadora-yesterday-en", "how much energy did the conchadora use yesterday?", "en",
         [production_call(d(-1), d(-1))], production("kwh", d(-1), d(-1)), tags=("trade word",)),
    Case("kwh-per-kg-last-month-es", "¿Cuántos kWh por kilo gastamos el mes pasado?", "es",
         [production_call(*OCTOBER)], production("kwh_per_kg", *OCTOBER)),
    Case("eur-per-kg-pralines-nov-en", "€ per kg of pralinés in November", "en",
         [production_call(*NOVEMBER, product="pralines")], energy_cost(*NOVEMBER, "pralines", per_kg=True)),
    Case("energy-cost-november-es", "¿Cuánto nos ha costado la energía de la producción en noviembre?", "es",
         [production_call(*NOVEMBER)], energy_cost(*NOVEMBER)),
    Case("cost-per-kg-last-week-es", "¿Cuál fue el coste por kilo la semana pasada?", "es",
         [production_call(*LAST_WEEK)], energy_cost(*LAST_WEEK, per_kg=True)),
    Case("batches-yesterday-en", "How many batches did we run yesterday?", "en",
         [production_call(d(-1), d(-1))], production("batches", d(-1), d(-1))),
    Case("kg-last-7-days-typo-es", "cuantos kilos produjimos en los ultimos 7 dias", "es",
         [production_call(d(-6), TODAY)], production("kg", d(-6), TODAY), tags=("typo",)),
    Case("dark-november-es", "¿Cuántos kg de dark 70% hicimos en noviembre?", "es",
         [production_call(*NOVEMBER, product="dark 70%")], production("kg", *NOVEMBER, product="dark 70%")),
    Case("savings-night-last-week-es",
         "¿Cuánto habríamos ahorrado la semana pasada produciendo de noche?", "es",
         [("what_if_schedule", {"start_date": iso(LAST_WEEK[0]), "end_date": iso(LAST_WEEK[1]),
                                "schedule": "night"})],
         saving_if_moved(*LAST_WEEK, 0)),
    Case("savings-6am-last-week-en", "How much would we have saved last week starting every batch at 6:00?",
         "en", [("what_if_schedule", {"start_date": iso(LAST_WEEK[0]), "end_date": iso(LAST_WEEK[1]),
                                      "schedule": "start_hour", "start_hour": 6})],
         saving_if_moved(*LAST_WEEK, 6)),
    Case("savings-cheapest-yesterday-en", "how much could we have saved yesterday moving batches to the "
         "cheapest hours?", "en",
         [("what_if_schedule", {"start_date": iso(d(-1)), "end_date": iso(d(-1)), "schedule": "cheapest"})],
         saving_if_moved(d(-1), d(-1), None)),
    Case("compare-price-weeks-en", "this week's average price against last week's", "en",
         [("compare_periods", {"metric": "prices",
                               "period_a": THIS_WEEK_DATES,
                               "period_b": LAST_WEEK_DATES})],
         price(sa.func.avg, *THIS_WEEK)),
    Case("compare-production-weeks-es",
         "¿Cómo va la producción de esta semana frente a la semana pasada?", "es",
         [("compare_periods", {"metric": "production",
                               "period_a": THIS_WEEK_DATES,
                               "period_b": LAST_WEEK_DATES})],
         production("kg", *LAST_WEEK)),
    Case("status-es", "¿Cómo está todo ahora mismo?", "es", [("get_status", {})], price_at(TODAY, 15)),
    Case("status-en", "Give me a summary of the current situation", "en", [("get_status", {})],
         price_at(TODAY, 15)),
]  # fmt: skip
