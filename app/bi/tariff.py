"""Spanish 2.0TD tariff periods (peninsula), computed from the clock, never fetched.

On working days, by Spanish local time (Europe/Madrid, so DST is followed):

| hours (local) | period |
|---|---|
| 00–08 | P3 (valle) |
| 08–10, 14–18, 22–24 | P2 (llano) |
| 10–14, 18–22 | P1 (punta) |

Saturdays, Sundays and national holidays with a fixed date are P3 all day (CNMC Circular 3/2020:
moveable holidays such as Good Friday, and holidays a region may substitute, do not count).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

SPAIN = ZoneInfo("Europe/Madrid")

TariffPeriod = Literal["P1", "P2", "P3"]

#: (month, day) of Spain's fixed-date national holidays, all P3 in 2.0TD.
NATIONAL_HOLIDAYS: frozenset[tuple[int, int]] = frozenset(
    {
        (1, 1),  # Año Nuevo
        (1, 6),  # Epifanía del Señor
        (5, 1),  # Fiesta del Trabajo
        (8, 15),  # Asunción de la Virgen
        (10, 12),  # Fiesta Nacional de España
        (11, 1),  # Todos los Santos
        (12, 6),  # Día de la Constitución
        (12, 8),  # Inmaculada Concepción
        (12, 25),  # Natividad del Señor
    }
)

_P1_HOURS = frozenset({10, 11, 12, 13, 18, 19, 20, 21})
_P2_HOURS = frozenset({8, 9, 14, 15, 16, 17, 22, 23})


def is_p3_day(day: date) -> bool:
    """True for weekends and fixed-date national holidays."""
    return day.weekday() >= 5 or (day.month, day.day) in NATIONAL_HOLIDAYS


def tariff_period(ts: datetime) -> TariffPeriod:
    """The 2.0TD period of the hour that contains `ts` (a timezone-aware instant)."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"tariff_period needs a timezone-aware time, got naive {ts!r}")
    local = ts.astimezone(SPAIN)
    if is_p3_day(local.date()):
        return "P3"
    if local.hour in _P1_HOURS:
        return "P1"
    if local.hour in _P2_HOURS:
        return "P2"
    return "P3"


def hour_start(ts: datetime) -> datetime:
    """The start of the UTC hour containing `ts`, timezone-aware UTC."""
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
