"""The REE and Open-Meteo clients against stand-ins that replay the real formats, good and bad."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.bi import ree as ree_client
from app.bi import weather as weather_client
from app.bi.ingestion import spanish_midnight
from app.bi.tariff import SPAIN
from app.bi.upstream import UpstreamError
from tests.bi.conftest import StandIn
from tests.standins.open_meteo import humidity_pct, temperature_c
from tests.standins.ree import pvpc_eur_mwh

HOUR = timedelta(hours=1)


def _hours(start: datetime, end: datetime) -> list[datetime]:
    return [start + i * HOUR for i in range(int((end - start) / HOUR))]


def _spanish_day(day: datetime) -> tuple[datetime, datetime]:
    start = spanish_midnight(day)
    return start, spanish_midnight(start + 26 * HOUR)


async def test_ree_prices_cover_a_spanish_day_in_eur_per_kwh(ree: StandIn, http: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    start, end = _spanish_day(now - timedelta(days=1))
    prices = await ree_client.fetch_pvpc(http, ree.url, start, end, now=now)
    assert [p.ts for p in prices] == _hours(start, end)
    assert [p.price_eur_kwh for p in prices] == pytest.approx(
        [pvpc_eur_mwh(h) / 1000 for h in _hours(start, end)]
    )
    (request,) = ree.requests()
    local_day = start.astimezone(SPAIN).strftime("%Y-%m-%d")
    assert request["query"] == {
        "start_date": f"{local_day}T00:00",
        "end_date": f"{local_day}T23:59",
        "time_trunc": "hour",
    }


@pytest.mark.parametrize(
    ("day", "hours"),
    [(datetime(2026, 3, 29, 12, tzinfo=UTC), 23), (datetime(2026, 10, 25, 12, tzinfo=UTC), 25)],
)
async def test_ree_days_of_a_dst_change_have_23_and_25_distinct_hours(
    ree: StandIn, http: httpx.AsyncClient, day: datetime, hours: int
) -> None:
    start, end = _spanish_day(day)
    prices = await ree_client.fetch_pvpc(http, ree.url, start, end, now=datetime.now(UTC))
    assert len(prices) == hours
    assert len({p.ts for p in prices}) == hours


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("malformed", "malformed"),
        ("partial", "partial"),
        ("no_pvpc", "malformed"),
        ("truncated", "malformed"),
        ("server_error", "http_status"),
        ("unavailable", "http_status"),
    ],
)
async def test_ree_bad_answers_raise_instead_of_returning_prices(
    ree: StandIn, http: httpx.AsyncClient, mode: str, reason: str
) -> None:
    ree.set_mode(mode)
    start, end = _spanish_day(datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(UpstreamError) as caught:
        await ree_client.fetch_pvpc(http, ree.url, start, end, now=datetime.now(UTC))
    assert caught.value.reason == reason
    assert caught.value.source == "ree"


async def test_ree_slow_answer_times_out(ree: StandIn, http: httpx.AsyncClient) -> None:
    ree.set_mode("slow", delay_seconds=3)
    start, end = _spanish_day(datetime.now(UTC))
    with pytest.raises(UpstreamError) as caught:
        await ree_client.fetch_pvpc(
            http, ree.url, start, end, now=datetime.now(UTC), request_timeout=httpx.Timeout(0.5)
        )
    assert caught.value.reason == "timeout"


async def test_open_meteo_hours_from_yesterday_to_the_forecast_horizon(
    open_meteo: StandIn, http: httpx.AsyncClient
) -> None:
    rows = await weather_client.fetch_open_meteo(
        http, open_meteo.url, 38.151, -3.629, past_days=1, forecast_days=2
    )
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert [r.ts for r in rows] == _hours(today - timedelta(days=1), today + timedelta(days=2))
    assert [r.temperature_c for r in rows] == [temperature_c(r.ts) for r in rows]
    assert [r.humidity_pct for r in rows] == [humidity_pct(r.ts) for r in rows]
    (request,) = open_meteo.requests()
    assert request["query"] == {
        "latitude": "38.151",
        "longitude": "-3.629",
        "hourly": "temperature_2m,relative_humidity_2m",
        "timezone": "UTC",
        "past_days": "1",
        "forecast_days": "2",
    }


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("malformed", "malformed"),
        ("partial", "partial"),
        ("nulls", "partial"),
        ("truncated", "malformed"),
        ("server_error", "http_status"),
        ("unavailable", "http_status"),
    ],
)
async def test_open_meteo_bad_answers_raise_instead_of_returning_rows(
    open_meteo: StandIn, http: httpx.AsyncClient, mode: str, reason: str
) -> None:
    open_meteo.set_mode(mode)
    with pytest.raises(UpstreamError) as caught:
        await weather_client.fetch_open_meteo(http, open_meteo.url, 38.151, -3.629)
    assert (caught.value.source, caught.value.reason) == ("open-meteo", reason)


async def test_open_meteo_slow_answer_times_out(open_meteo: StandIn, http: httpx.AsyncClient) -> None:
    open_meteo.set_mode("slow", delay_seconds=3)
    with pytest.raises(UpstreamError) as caught:
        await weather_client.fetch_open_meteo(
            http, open_meteo.url, 38.151, -3.629, request_timeout=httpx.Timeout(0.5)
        )
    assert caught.value.reason == "timeout"


async def test_an_unreachable_upstream_is_a_transport_error(http: httpx.AsyncClient) -> None:
    from tests.support.services import free_port

    with pytest.raises(UpstreamError) as caught:
        await weather_client.fetch_open_meteo(http, f"http://127.0.0.1:{free_port()}", 38.151, -3.629)
    assert caught.value.reason == "transport"
