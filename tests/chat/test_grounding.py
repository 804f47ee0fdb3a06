"""Grounded figures: every number of an answer traced to a tool result, whatever its format."""

from __future__ import annotations

import pytest

from app.chat.grounding import Evidence, check, readings

RESULT = {
    "time": "2026-11-25T19:00+01:00",
    "price_eur_kwh": 0.0712,
    "kg": 11330.6,
    "saving_pct": 21.5,
    "hours_above_band": 7,
}


def evidence() -> Evidence:
    found = Evidence()
    found.add(RESULT)
    return found


@pytest.mark.parametrize(
    "answer",
    [
        "El precio fue 0,0712 €/kWh el 25 a las 19:00.",
        "The price was 0.0712 €/kWh on 2026-11-25 at 19:00.",
        "About 0.07 €/kWh.",
        "7,1 c€/kWh",
        "71.2 €/MWh",
        "11.330,6 kg",
        "11,330.6 kg",
        "11.3 t",
        "un ahorro del 21 %",
        "7 h above the band (tariff 2.0TD, period P1)",
        "1. first\n2. then 0.0712 €/kWh",
    ],
)
def test_rounding_units_and_language_formats_are_supported(answer: str) -> None:
    assert check(answer, evidence()).grounded, answer


def test_a_figure_no_tool_gave_is_reported() -> None:
    result = check("The price was 0.0999 €/kWh at 13:00, 7 hours above the band.", evidence())
    assert result.grounded is False
    assert result.unsupported_figures == ["0.0999", "13"]


def test_an_ambiguous_thousands_mark_is_read_both_ways() -> None:
    assert {r.value for r in readings("1.234")} == {1.234, 1234.0}
    assert [r.value for r in readings("0,0712")] == [0.0712]
    assert [r.value for r in readings("1.234,5")] == [1234.5]
