"""REE apidatos client: hourly PVPC prices (the `mercados/precios-mercados-tiempo-real` widget).

REE answers in JSON:API shape: `included[]` holds one series per price (PVPC, spot market), each with
`attributes.values[]` of `{value: €/MWh, percentage, datetime: local ISO time with offset}`. REE reads
`start_date`/`end_date` as Spanish local time. Prices are returned in €/kWh, hours in UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.bi.tariff import SPAIN, hour_start
from app.bi.upstream import UpstreamError, get_json

SOURCE = "ree"
PATH = "/es/datos/mercados/precios-mercados-tiempo-real"
HOUR = timedelta(hours=1)
#: Plausible PVPC range in €/MWh; anything outside is a broken response, not a price.
PRICE_RANGE_EUR_MWH = (-500.0, 10_000.0)


@dataclass(frozen=True)
class HourlyPrice:
    ts: datetime
    price_eur_kwh: float


def request_params(start: datetime, end: datetime) -> dict[str, str]:
    """Query for the hours [start, end): REE's dates are Spanish local minutes, end inclusive."""
    local_start = start.astimezone(SPAIN)
    local_end = (end - timedelta(minutes=1)).astimezone(SPAIN)
    return {
        "start_date": local_start.strftime("%Y-%m-%dT%H:%M"),
        "end_date": local_end.strftime("%Y-%m-%dT%H:%M"),
        "time_trunc": "hour",
    }


async def fetch_pvpc(
    http: httpx.AsyncClient,
    base_url: str,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    request_timeout: httpx.Timeout | None = None,
) -> list[HourlyPrice]:
    """PVPC prices of the hours [start, end); raises `UpstreamError` rather than return a doubtful series."""
    payload = await get_json(
        http,
        SOURCE,
        base_url.rstrip("/") + PATH,
        params=request_params(start, end),
        request_timeout=request_timeout,
    )
    return parse_pvpc(payload, start, end, now=now)


def _pvpc_series(payload: Any) -> list[Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("included"), list):
        raise UpstreamError(SOURCE, "malformed", "response has no `included` list")
    for item in payload["included"]:
        if not isinstance(item, dict):
            continue
        attributes = item.get("attributes")
        names = (
            str(item.get("type", "")),
            str(attributes.get("title", "")) if isinstance(attributes, dict) else "",
        )
        if any(name.upper().startswith("PVPC") for name in names):
            if not isinstance(attributes, dict) or not isinstance(attributes.get("values"), list):
                raise UpstreamError(SOURCE, "malformed", "the PVPC series has no `attributes.values` list")
            return list(attributes["values"])
    raise UpstreamError(SOURCE, "malformed", "no PVPC series in `included`")


def _parse_value(entry: Any, index: int) -> HourlyPrice:
    if not isinstance(entry, dict):
        raise UpstreamError(SOURCE, "malformed", f"values[{index}] is not an object")
    value, stamp = entry.get("value"), entry.get("datetime")
    if value is None or stamp is None:
        raise UpstreamError(SOURCE, "partial", f"values[{index}] lacks `value` or `datetime`")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UpstreamError(SOURCE, "malformed", f"values[{index}].value is not a number: {value!r}")
    low, high = PRICE_RANGE_EUR_MWH
    if not low <= value <= high:
        raise UpstreamError(
            SOURCE, "malformed", f"values[{index}].value {value} €/MWh is not a plausible price"
        )
    try:
        ts = datetime.fromisoformat(str(stamp))
    except ValueError as exc:
        raise UpstreamError(
            SOURCE, "malformed", f"values[{index}].datetime {stamp!r} is not ISO 8601"
        ) from exc
    if ts.tzinfo is None:
        raise UpstreamError(SOURCE, "malformed", f"values[{index}].datetime {stamp!r} has no UTC offset")
    if (ts.minute, ts.second, ts.microsecond) != (0, 0, 0):
        raise UpstreamError(SOURCE, "malformed", f"values[{index}].datetime {stamp!r} is not on the hour")
    return HourlyPrice(ts=hour_start(ts), price_eur_kwh=float(value) / 1000.0)


def parse_pvpc(payload: Any, start: datetime, end: datetime, *, now: datetime) -> list[HourlyPrice]:
    """Validate REE's answer for [start, end): every hour up to `now` present, each once, all plausible."""
    prices: dict[datetime, HourlyPrice] = {}
    for index, entry in enumerate(_pvpc_series(payload)):
        price = _parse_value(entry, index)
        if not start <= price.ts < end:
            continue
        if price.ts in prices:
            raise UpstreamError(SOURCE, "malformed", f"hour {price.ts.isoformat()} appears twice")
        prices[price.ts] = price
    required_end = min(end, hour_start(now) + HOUR)
    missing = []
    hour = start
    while hour < required_end:
        if hour not in prices:
            missing.append(hour)
        hour += HOUR
    if missing:
        raise UpstreamError(
            SOURCE,
            "partial",
            f"{len(missing)} past hour(s) missing, first {missing[0].isoformat()} "
            f"(asked {start.isoformat()} to {end.isoformat()})",
        )
    return [prices[ts] for ts in sorted(prices)]
