"""A local REE apidatos: the `mercados/precios-mercados-tiempo-real` widget, on a real socket.

    python -m tests.standins.ree --port 8801

`GET /es/datos/mercados/precios-mercados-tiempo-real?start_date=YYYY-MM-DDTHH:MM&end_date=...&time_trunc=hour`
answers in REE's JSON:API shape: `data` describes the widget, `included[]` holds the series
"PVPC (€/MWh)" (id 1001) and "Precio mercado spot (€/MWh)" (id 600), each with
`attributes.values[]` of `{value, percentage, datetime}`; dates are Spanish local time with their
offset (`2026-06-10T00:00:00.000+02:00`), one value per hour from start_date to end_date inclusive.
Prices follow a fixed daily profile, so tests can compute what they expect with `pvpc_eur_mwh()`.

Modes (see tests/standins/replay.py): `malformed` (a value is a string), `partial` (three hours in the
middle are missing), `server_error`, `unavailable`, `slow`, `truncated`, and `no_pvpc` (only the spot
series).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.standins.replay import port_argument, serve

SPAIN = ZoneInfo("Europe/Madrid")
PATH = "/es/datos/mercados/precios-mercados-tiempo-real"
#: A typical PVPC day in €/MWh by Spanish local hour: cheap nights and midday solar, dear evenings.
DAILY_PROFILE = [
    98.4, 92.1, 88.7, 86.3, 85.9, 89.2, 101.5, 124.8, 142.3, 131.6, 118.2, 104.9,
    96.7, 93.5, 95.1, 103.8, 121.4, 149.6, 178.2, 191.7, 183.4, 162.9, 139.5, 112.6,
]  # fmt: skip


def pvpc_eur_mwh(ts: datetime) -> float:
    """The stand-in's PVPC price for the hour starting at `ts`, in €/MWh."""
    local = ts.astimezone(SPAIN)
    return round(DAILY_PROFILE[local.hour] + (local.toordinal() % 7) * 1.5, 2)


def spot_eur_mwh(ts: datetime) -> float:
    return round(pvpc_eur_mwh(ts) * 0.62, 2)


def _error(status: int, detail: str) -> tuple[int, Any]:
    return status, {"errors": [{"code": status, "status": str(status), "title": "Error", "detail": detail}]}


def _stamp(ts: datetime) -> str:
    return ts.astimezone(SPAIN).isoformat(timespec="milliseconds")


def hours_between(start_date: str, end_date: str) -> list[datetime]:
    """UTC hours from local start_date to local end_date inclusive (REE's reading of the range)."""
    start = datetime.fromisoformat(start_date).replace(tzinfo=SPAIN).astimezone(UTC)
    end = datetime.fromisoformat(end_date).replace(tzinfo=SPAIN).astimezone(UTC)
    start = start.replace(minute=0, second=0, microsecond=0)
    hours = []
    while start <= end:
        hours.append(start)
        start += timedelta(hours=1)
    return hours


def _series(series_type: str, series_id: str, color: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": series_type,
        "id": series_id,
        "groupId": None,
        "attributes": {
            "title": series_type,
            "description": None,
            "color": color,
            "type": None,
            "magnitude": None,
            "composite": False,
            "last-update": datetime.now(SPAIN).isoformat(timespec="milliseconds"),
            "values": values,
        },
    }


def answer(path: str, query: dict[str, str], mode: str) -> tuple[int, Any]:
    if path != PATH:
        return _error(404, f"no widget at {path}")
    for key in ("start_date", "end_date", "time_trunc"):
        if key not in query:
            return _error(400, f"missing parameter {key}")
    if query["time_trunc"] != "hour":
        return _error(400, "this stand-in serves time_trunc=hour only")
    try:
        hours = hours_between(query["start_date"], query["end_date"])
    except ValueError:
        return _error(400, "start_date and end_date must look like 2026-06-10T00:00")
    if len(hours) > 31 * 24:
        return _error(400, "the range is limited to 31 days for time_trunc=hour")
    if mode == "partial" and len(hours) > 6:
        hours = hours[:2] + hours[5:]
    pvpc, spot = [], []
    for ts in hours:
        price, market = pvpc_eur_mwh(ts), spot_eur_mwh(ts)
        total = price + market
        pvpc.append({"value": price, "percentage": round(price / total, 4), "datetime": _stamp(ts)})
        spot.append({"value": market, "percentage": round(market / total, 4), "datetime": _stamp(ts)})
    if mode == "malformed" and pvpc:
        pvpc[len(pvpc) // 2]["value"] = "n/d"
    included = [_series("Precio mercado spot (€/MWh)", "600", "#df4a32", spot)]
    if mode != "no_pvpc":
        included.insert(0, _series("PVPC (€/MWh)", "1001", "#ffcf09", pvpc))
    title = "Precios mercado peninsular en tiempo real"
    return 200, {
        "data": {
            "type": title,
            "id": "mer13",
            "attributes": {"title": title, "last-update": _stamp(datetime.now(UTC)), "description": None},
            "meta": {"cache-control": {"cache": "MISS"}},
        },
        "included": included,
    }


if __name__ == "__main__":
    serve("ree-standin", answer, {"no_pvpc"}, port_argument(__doc__ or ""))
