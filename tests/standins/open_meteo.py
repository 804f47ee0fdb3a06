"""A local Open-Meteo forecast API on a real socket.

    python -m tests.standins.open_meteo --port 8802

`GET /v1/forecast?latitude=..&longitude=..&hourly=temperature_2m,relative_humidity_2m&timezone=UTC
&past_days=N&forecast_days=M` answers like api.open-meteo.com: `hourly.time` from today 00:00 UTC minus
N days, (N + M) × 24 hours as `YYYY-MM-DDTHH:MM`, with `temperature_2m` (°C) and
`relative_humidity_2m` (%) aligned to it. Values follow `temperature_c()`/`humidity_pct()` so tests can
compute what they expect. Bad parameters get Open-Meteo's `{"error": true, "reason": ...}` with 400.

Modes (see tests/standins/replay.py): `malformed` (a temperature is a string), `partial` (humidity
shorter than time), `server_error`, `unavailable`, `slow`, `truncated`, and `nulls` (a null temperature).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.standins.replay import port_argument, serve

PATH = "/v1/forecast"
VARIABLES = {"temperature_2m", "relative_humidity_2m"}


def temperature_c(ts: datetime) -> float:
    """Linares-like daily swing: coolest near 05:00 UTC, warmest near 15:00 UTC."""
    return round(21.0 + 8.0 * math.sin((ts.hour - 9) / 24 * 2 * math.pi), 1)


def humidity_pct(ts: datetime) -> float:
    return round(55.0 - 20.0 * math.sin((ts.hour - 9) / 24 * 2 * math.pi))


def _error(reason: str) -> tuple[int, Any]:
    return 400, {"error": True, "reason": reason}


def answer(path: str, query: dict[str, str], mode: str) -> tuple[int, Any]:
    if path != PATH:
        return 404, {"error": True, "reason": f"Not Found: {path}"}
    try:
        latitude, longitude = float(query["latitude"]), float(query["longitude"])
    except (KeyError, ValueError):
        return _error("Parameter 'latitude' and 'longitude' must be floating point numbers")
    variables = set(query.get("hourly", "").split(","))
    if not variables <= VARIABLES or not variables:
        return _error(f"Cannot initialize WeatherVariable from invalid String value {query.get('hourly')}")
    if query.get("timezone", "GMT") not in ("UTC", "GMT"):
        return _error("This stand-in serves timezone=UTC only")
    past_days = int(query.get("past_days", 0))
    forecast_days = int(query.get("forecast_days", 7))
    if not 0 <= past_days <= 92 or not 0 <= forecast_days <= 16:
        return _error("Parameter 'past_days' must be between 0 and 92, 'forecast_days' between 0 and 16")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=past_days)
    hours = [start + timedelta(hours=i) for i in range((past_days + forecast_days) * 24)]
    hourly: dict[str, list[Any]] = {"time": [ts.strftime("%Y-%m-%dT%H:%M") for ts in hours]}
    units = {"time": "iso8601"}
    if "temperature_2m" in variables:
        hourly["temperature_2m"] = [temperature_c(ts) for ts in hours]
        units["temperature_2m"] = "°C"
    if "relative_humidity_2m" in variables:
        hourly["relative_humidity_2m"] = [humidity_pct(ts) for ts in hours]
        units["relative_humidity_2m"] = "%"
    middle = len(hours) // 2
    if mode == "malformed" and hours:
        hourly["temperature_2m"][middle] = "warm"
    if mode == "partial" and hours:
        hourly["relative_humidity_2m"] = hourly["relative_humidity_2m"][:middle]
    if mode == "nulls" and hours:
        hourly["temperature_2m"][middle] = None
    return 200, {
        "latitude": round(latitude, 2),
        "longitude": round(longitude, 2),
        "generationtime_ms": 0.05,
        "utc_offset_seconds": 0,
        "timezone": query.get("timezone", "GMT"),
        "timezone_abbreviation": "GMT",
        "elevation": 419.0,
        "hourly_units": units,
        "hourly": hourly,
    }


if __name__ == "__main__":
    serve("open-meteo-standin", answer, {"nulls"}, port_argument(__doc__ or ""))
