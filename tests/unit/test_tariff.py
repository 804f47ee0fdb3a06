"""2.0TD periods by Spanish local time across a week that contains the spring DST change."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from app.bi.tariff import tariff_period


def _hours_utc(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(hours=i) for i in range(count)]


def test_a_working_day_in_winter_follows_cet_hours() -> None:
    # Friday 2026-03-27, CET (UTC+1): local 10:00 is 09:00 UTC.
    day = {h.hour: tariff_period(h) for h in _hours_utc(datetime(2026, 3, 26, 23, tzinfo=UTC), 24)}
    assert day[23] == "P3" and day[6] == "P3", "local 00-08 is valle"
    assert day[7] == "P2" and day[8] == "P2", "local 08-10 is llano"
    assert [day[h] for h in (9, 10, 11, 12)] == ["P1"] * 4, "local 10-14 is punta"
    assert [day[h] for h in (13, 16)] == ["P2", "P2"]
    assert [day[h] for h in (17, 20)] == ["P1", "P1"], "local 18-22 is punta"
    assert [day[h] for h in (21, 22)] == ["P2", "P2"], "local 22-24 is llano"
    assert Counter(day.values()) == {"P1": 8, "P2": 8, "P3": 8}


def test_the_same_utc_hour_changes_period_after_the_switch_to_summer_time() -> None:
    friday_08_utc = datetime(2026, 3, 27, 8, tzinfo=UTC)  # 09:00 CET
    monday_08_utc = datetime(2026, 3, 30, 8, tzinfo=UTC)  # 10:00 CEST
    assert tariff_period(friday_08_utc) == "P2"
    assert tariff_period(monday_08_utc) == "P1"
    assert tariff_period(datetime(2026, 3, 30, 20, tzinfo=UTC)) == "P2", "22:00 CEST is llano"
    assert tariff_period(datetime(2026, 3, 27, 20, tzinfo=UTC)) == "P1", "21:00 CET is punta"


def test_the_weekend_of_the_dst_change_is_valle_all_its_hours() -> None:
    # Saturday 00:00 CET to Monday 00:00 CEST is 47 hours: Sunday lost one.
    weekend = _hours_utc(datetime(2026, 3, 27, 23, tzinfo=UTC), 47)
    assert {tariff_period(h) for h in weekend} == {"P3"}
    assert tariff_period(weekend[-1] + timedelta(hours=9)) == "P2", "Monday 09:00 CEST is llano"


def test_a_week_has_forty_punta_hours_on_its_five_working_days() -> None:
    week = _hours_utc(datetime(2026, 3, 22, 23, tzinfo=UTC), 7 * 24 - 1)  # Mon 00:00 CET .. Mon CEST
    counts = Counter(tariff_period(h) for h in week)
    assert counts["P1"] == 40
    assert counts["P2"] == 40
    assert counts["P3"] == 7 * 24 - 1 - 80


def test_fixed_national_holidays_are_valle_but_good_friday_is_not() -> None:
    assert tariff_period(datetime(2026, 12, 8, 11, tzinfo=UTC)) == "P3", "Inmaculada, a Tuesday"
    assert tariff_period(datetime(2026, 10, 12, 11, tzinfo=UTC)) == "P3", "Fiesta Nacional, a Monday"
    assert tariff_period(datetime(2026, 4, 3, 10, tzinfo=UTC)) == "P1", "Good Friday has no fixed date"


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        tariff_period(datetime(2026, 3, 27, 10))
