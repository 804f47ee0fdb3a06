"""AEMET OpenData observations (the optional second weather source): what is kept, what is refused."""

from datetime import UTC, datetime

import pytest

from app.bi.upstream import UpstreamError
from app.bi.weather import parse_aemet

# Shaped like the `datos` answer of /opendata/api/observacion/convencional/datos/estacion/5279X.
OBSERVATIONS = [
    {"idema": "5279X", "lon": -3.6386, "fint": "2026-06-10T08:00:00", "prec": 0.0, "alt": 443.0,
     "lat": 38.0886, "ubi": "LINARES (VOR - AUTOMATICA)", "hr": 41.0, "ta": 23.4, "tamin": 22.8,
     "tamax": 23.6},
    {"idema": "5279X", "fint": "2026-06-10T08:30:00", "hr": 40.0, "ta": 23.9},
    {"idema": "5279X", "fint": "2026-06-10T09:00:00", "hr": 37.0, "ta": 25.1},
]  # fmt: skip


def test_hourly_observations_are_kept_in_utc_and_half_hours_dropped() -> None:
    rows = parse_aemet(OBSERVATIONS)
    assert [(r.ts, r.temperature_c, r.humidity_pct) for r in rows] == [
        (datetime(2026, 6, 10, 8, tzinfo=UTC), 23.4, 41.0),
        (datetime(2026, 6, 10, 9, tzinfo=UTC), 25.1, 37.0),
    ]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"descripcion": "exito"}, "malformed"),
        ([{"fint": "2026-06-10T08:00:00", "hr": 41.0}], "partial"),
        ([{"fint": "2026-06-10T08:00:00", "ta": "23,4", "hr": 41.0}], "malformed"),
        ([{"fint": "2026-06-10T08:00:00", "ta": 23.4, "hr": 140.0}], "malformed"),
        ([{"fint": "2026-06-10T08:30:00", "ta": 23.4, "hr": 41.0}], "partial"),
    ],
)
def test_doubtful_observations_are_refused_whole(payload: object, reason: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        parse_aemet(payload)
    assert (caught.value.source, caught.value.reason) == ("aemet", reason)
