"""Weather clients: Open-Meteo's keyless forecast (the default) and AEMET OpenData (when a key is set).

Both return `HourlyWeather` rows in UTC; a response that is malformed or incomplete raises
`UpstreamError` instead, so nothing doubtful reaches the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.bi.upstream import UpstreamError, get_json

OPEN_METEO = "open-meteo"
AEMET = "aemet"
HOUR = timedelta(hours=1)
TEMPERATURE_RANGE_C = (-60.0, 60.0)


@dataclass(frozen=True)
class HourlyWeather:
    ts: datetime
    temperature_c: float
    humidity_pct: float


def _number(source: str, value: Any, what: str, low: float, high: float) -> float:
    if value is None:
        raise UpstreamError(source, "partial", f"{what} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UpstreamError(source, "malformed", f"{what} is not a number: {value!r}")
    if not low <= value <= high:
        raise UpstreamError(source, "malformed", f"{what} = {value} is outside [{low}, {high}]")
    return float(value)


# --- Open-Meteo -----------------------------------------------------------------------------------


async def fetch_open_meteo(
    http: httpx.AsyncClient,
    base_url: str,
    latitude: float,
    longitude: float,
    *,
    past_days: int = 1,
    forecast_days: int = 2,
    request_timeout: httpx.Timeout | None = None,
) -> list[HourlyWeather]:
    """Hourly temperature and humidity from `past_days` ago to `forecast_days` ahead, UTC hours."""
    params: dict[str, str | int | float] = {
        "latitude": latitude,
        "longitude": longitude,
        "hourly": "temperature_2m,relative_humidity_2m",
        "timezone": "UTC",
        "past_days": past_days,
        "forecast_days": forecast_days,
    }
    payload = await get_json(
        http,
        OPEN_METEO,
        base_url.rstrip("/") + "/v1/forecast",
        params=params,
        request_timeout=request_timeout,
    )
    rows = parse_open_meteo(payload)
    expected = (past_days + forecast_days) * 24
    if len(rows) < expected:
        raise UpstreamError(OPEN_METEO, "partial", f"{len(rows)} hours received, {expected} asked for")
    return rows


def parse_open_meteo(payload: Any) -> list[HourlyWeather]:
    """Validate a forecast answer: UTC times, equal-length series, consecutive hours, plausible values."""
    if not isinstance(payload, dict) or not isinstance(payload.get("hourly"), dict):
        raise UpstreamError(OPEN_METEO, "malformed", "response has no `hourly` object")
    if payload.get("utc_offset_seconds", 0) != 0:
        raise UpstreamError(OPEN_METEO, "malformed", "times are not UTC (utc_offset_seconds != 0)")
    hourly = payload["hourly"]
    series = [hourly.get(key) for key in ("time", "temperature_2m", "relative_humidity_2m")]
    if not all(isinstance(values, list) for values in series):
        raise UpstreamError(
            OPEN_METEO, "malformed", "hourly lacks time, temperature_2m or relative_humidity_2m"
        )
    times, temperatures, humidities = series
    if not len(times) == len(temperatures) == len(humidities):
        raise UpstreamError(
            OPEN_METEO,
            "partial",
            f"series lengths differ: time {len(times)}, temperature {len(temperatures)}, "
            f"humidity {len(humidities)}",
        )
    rows: list[HourlyWeather] = []
    for index, (stamp, temperature, humidity) in enumerate(zip(times, temperatures, humidities, strict=True)):
        try:
            ts = datetime.fromisoformat(str(stamp))
        except ValueError as exc:
            raise UpstreamError(OPEN_METEO, "malformed", f"time[{index}] {stamp!r} is not ISO 8601") from exc
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        if rows and ts - rows[-1].ts != HOUR:
            raise UpstreamError(
                OPEN_METEO, "partial", f"time[{index}] {stamp!r} does not follow the hour before"
            )
        rows.append(
            HourlyWeather(
                ts=ts,
                temperature_c=_number(
                    OPEN_METEO, temperature, f"temperature_2m[{index}]", *TEMPERATURE_RANGE_C
                ),
                humidity_pct=_number(OPEN_METEO, humidity, f"relative_humidity_2m[{index}]", 0, 100),
            )
        )
    return rows


# --- AEMET OpenData -------------------------------------------------------------------------------


async def fetch_aemet(
    http: httpx.AsyncClient,
    base_url: str,
    api_key: str,
    station_id: str,
    *,
    request_timeout: httpx.Timeout | None = None,
) -> list[HourlyWeather]:
    """The station's hourly observations of the last 24 h (AEMET answers in two steps: a link, then data)."""
    url = f"{base_url.rstrip('/')}/opendata/api/observacion/convencional/datos/estacion/{station_id}"
    envelope = await get_json(http, AEMET, url, headers={"api_key": api_key}, request_timeout=request_timeout)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("datos"), str):
        estado = envelope.get("estado") if isinstance(envelope, dict) else None
        description = envelope.get("descripcion") if isinstance(envelope, dict) else None
        raise UpstreamError(AEMET, "malformed", f"no `datos` link (estado {estado!r}: {description!r})")
    data = await get_json(http, AEMET, envelope["datos"], request_timeout=request_timeout)
    return parse_aemet(data)


def parse_aemet(data: Any) -> list[HourlyWeather]:
    """Observations on the hour (`fint`, UTC) with air temperature `ta` and relative humidity `hr`."""
    if not isinstance(data, list):
        raise UpstreamError(AEMET, "malformed", "observations are not a list")
    rows: dict[datetime, HourlyWeather] = {}
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("fint"), str):
            raise UpstreamError(AEMET, "malformed", f"observation [{index}] has no `fint` time")
        try:
            ts = datetime.fromisoformat(item["fint"])
        except ValueError as exc:
            raise UpstreamError(AEMET, "malformed", f"observation [{index}] fint {item['fint']!r}") from exc
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        if (ts.minute, ts.second) != (0, 0):
            continue
        rows[ts] = HourlyWeather(
            ts=ts,
            temperature_c=_number(AEMET, item.get("ta"), f"observation [{index}] ta", *TEMPERATURE_RANGE_C),
            humidity_pct=_number(AEMET, item.get("hr"), f"observation [{index}] hr", 0, 100),
        )
    if not rows:
        raise UpstreamError(AEMET, "partial", "no hourly observation in the answer")
    return [rows[ts] for ts in sorted(rows)]
