"""The keyword path's understanding of a question: dates and periods, stems and typos, language, topics."""

from __future__ import annotations

from datetime import date

import pytest

from app.chat import fallback, periods
from app.chat.words import matches, mentions, tokenize

#: A Wednesday.
TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("¿Cuánto cuesta la luz hoy?", "2026-11-25", "2026-11-25"),
        ("¿Y mañana?", "2026-11-26", "2026-11-26"),
        ("¿y manana?", "2026-11-26", "2026-11-26"),
        ("precio pasado mañana", "2026-11-27", "2026-11-27"),
        ("¿Cuánto produjimos ayer?", "2026-11-24", "2026-11-24"),
        ("¿Qué tal esta semana?", "2026-11-23", "2026-11-29"),
        ("la semana pasada", "2026-11-16", "2026-11-22"),
        ("the day after tomorrow", "2026-11-27", "2026-11-27"),
        ("last week", "2026-11-16", "2026-11-22"),
        ("this week", "2026-11-23", "2026-11-29"),
        ("yesterday", "2026-11-24", "2026-11-24"),
        ("yesterady's production", "2026-11-24", "2026-11-24"),
        ("el martes pasado", "2026-11-24", "2026-11-24"),
        ("last Monday", "2026-11-23", "2026-11-23"),
        ("el lunes", "2026-11-23", "2026-11-23"),
        ("el próximo viernes", "2026-11-27", "2026-11-27"),
        ("next Friday", "2026-11-27", "2026-11-27"),
        ("en noviembre", "2026-11-01", "2026-11-30"),
        ("in October", "2026-10-01", "2026-10-31"),
        ("en diciembre", "2025-12-01", "2025-12-31"),
        ("el mes pasado", "2026-10-01", "2026-10-31"),
        ("los últimos 3 días", "2026-11-23", "2026-11-25"),
        ("on 2026-11-20", "2026-11-20", "2026-11-20"),
    ],
)
def test_days_and_periods_resolve_on_the_factory_calendar(question: str, start: str, end: str) -> None:
    period = periods.parse(question, TODAY).period
    assert period is not None, question
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


def test_morning_is_not_tomorrow() -> None:
    parsed = periods.parse("¿Cuánto cuesta la luz por la mañana?", TODAY)
    assert parsed.period is None and parsed.part_of_day == "morning"
    tomorrow_morning = periods.parse("mañana por la mañana", TODAY)
    assert tomorrow_morning.period is not None and tomorrow_morning.period.label == "tomorrow"
    assert tomorrow_morning.part_of_day == "morning"


@pytest.mark.parametrize(
    ("question", "part"),
    [
        ("producir por la noche", "night"),
        ("de madrugada", "early"),
        ("at night", "night"),
        ("in the small hours", "early"),
        ("por la tarde", "afternoon"),
    ],
)
def test_parts_of_the_day(question: str, part: str) -> None:
    assert periods.parse(question, TODAY).part_of_day == part


def test_hours_and_deadlines() -> None:
    assert periods.parse("mañana a las 19:00", TODAY).at_hour == 19
    assert periods.parse("tomorrow at 7 pm", TODAY).at_hour == 19
    assert periods.parse("antes de las 14", TODAY).deadline_hour == 14
    assert periods.parse("finished by 2 pm", TODAY).deadline_hour == 14


def test_an_impossible_date_is_ignored() -> None:
    assert periods.parse("precio el 2026-13-45", TODAY).period is None


def test_two_periods_keep_their_order() -> None:
    both = periods.parse("esta semana frente a la semana pasada", TODAY).periods
    assert [p.label for p in both] == ["this week", "last week"]


@pytest.mark.parametrize(
    ("token", "keyword"),
    [
        ("ahorrado", "ahorr*"),
        ("habriamos", "habriamos"),
        ("fabricado", "fabric*"),
        ("conchadora", "conch*"),
        ("temperatrua", "temperatura"),
        ("precios", "precio*"),
        ("cheapest", "cheap*"),
        ("warm", "warm*"),
    ],
)
def test_stems_inflections_and_small_typos_match(token: str, keyword: str) -> None:
    assert matches(token, keyword)


def test_short_words_and_substrings_do_not_match() -> None:
    assert not mentions(tokenize("la media de hoy"), ["dia"]), "dia never matches inside media"
    assert not mentions(tokenize("la planta"), ["plan"])
    assert not matches("mes", "mas"), "short words need an exact match"
    assert not matches("ahora", "ahorr*"), "a stem takes no typos: now is not saving"


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("¿Cuánto habríamos ahorrado la semana pasada produciendo de noche?", "savings"),
        ("¿Cuánto hemos fabricado esta semana?", "production"),
        ("¿Cuánto gastó la conchadora ayer?", "production"),
        ("is it warm in the plant?", "weather"),
        ("hours above 22 °C last week", "weather"),
        ("the cheapest 4-hour window", "window"),
        ("this week's average price against last week's", "compare"),
        ("¿Cuánto costará la luz mañana a las 19:00?", "prices"),
        ("¿Cuál es la temperatrua?", "weather"),
    ],
)
def test_topics_come_from_stems(question: str, topic: str) -> None:
    assert topic in fallback.topics_of(question)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("¿Cuándo es más barato producir hoy?", "es"),
        ("cuanto costo la luz ayer", "es"),
        ("When is it cheapest to produce today?", "en"),
        ("hours above 22 °C last week", "en"),
    ],
)
def test_the_language_of_a_question(question: str, language: str) -> None:
    assert fallback.language_of(question) == language


def test_a_follow_up_keeps_the_previous_topic() -> None:
    now = periods.datetime_at(TODAY, 12)
    chosen = fallback.plan("¿y mañana?", ["weather"], TODAY, 3, now)
    assert chosen.calls == [("get_weather", {"start_date": "2026-11-26", "end_date": "2026-11-26"})]
    fresh = fallback.plan("¿y el precio mañana?", ["weather"], TODAY, 3, now)
    assert [name for name, _ in fresh.calls] == ["get_prices"], "a question with its own topic changes topic"


def test_the_plan_asks_the_tools_what_the_question_needs() -> None:
    now = periods.datetime_at(TODAY, 12)
    night = fallback.plan(
        "¿Cuánto habríamos ahorrado la semana pasada produciendo de noche?", [], TODAY, 3, now
    )
    assert night.calls == [
        ("what_if_schedule", {"start_date": "2026-11-16", "end_date": "2026-11-22", "schedule": "night"})
    ]
    window = fallback.plan("the cheapest 4-hour window before 14:00 tomorrow", [], TODAY, 3, now)
    assert window.calls == [
        ("find_cheapest_window", {"hours": 4, "count": 2, "not_before": "2026-11-26T00:00",
                                  "deadline": "2026-11-26T14:00"}),
    ]  # fmt: skip
    pralines = fallback.plan("€ per kg of pralinés in November", [], TODAY, 3, now, ["dark 70%", "pralines"])
    assert pralines.calls == [
        ("get_production", {"start_date": "2026-11-01", "end_date": "2026-11-30", "group_by": "total",
                            "product": "pralines"}),
    ]  # fmt: skip
