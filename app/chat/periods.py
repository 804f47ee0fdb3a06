"""Dates and periods named in a question, Spanish or English, resolved on the factory's calendar.

"hoy", "mañana", "pasado mañana", "ayer", "anteayer", "esta semana", "la semana pasada", "la próxima
semana", "este mes", "el mes pasado", "los últimos 3 días", weekday names ("el martes", "el martes
pasado", "next Tuesday"), months ("en noviembre"), ISO dates, and their English forms; the parts of a day
("por la noche", "de madrugada", "por la mañana", "por la tarde", "at night", "in the morning") and an
hour ("a las 19:00", "at 7 pm"), and a deadline ("antes de las 14", "before 2 pm", "by 14:00").

Words are matched on accent-folded tokens with one typo allowed in words of five letters or more
("manana", "mañna", "yesterady"). "mañana" after "por la"/"esta" is the morning, not tomorrow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from app.bi.tariff import SPAIN
from app.chat.words import close_to, fold, tokenize

SPANISH_WEEKDAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
ENGLISH_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SPANISH_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
                  "octubre", "noviembre", "diciembre")  # fmt: skip
ENGLISH_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                  "october", "november", "december")  # fmt: skip

NIGHT_HOURS = (22, 23, 0, 1, 2, 3, 4, 5, 6, 7)
EARLY_HOURS = (0, 1, 2, 3, 4, 5, 6)
MORNING_HOURS = tuple(range(8, 14))
AFTERNOON_HOURS = tuple(range(14, 20))
EVENING_HOURS = tuple(range(18, 22))

_FUTURE = frozenset({"proximo", "proxima", "next", "viene", "coming", "costara", "sera", "will"})
_PAST = frozenset({"pasado", "pasada", "last", "anterior", "previous", "ultimo", "ultima"})


@dataclass(frozen=True)
class Period:
    """Days [start, end] (inclusive) and what the question called them."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class Parsed:
    """Everything about time found in a question."""

    periods: list[Period] = field(default_factory=list)
    hours: tuple[int, ...] = ()  # local hours of the day asked about ("por la noche")
    part_of_day: str | None = None  # "night", "early", "morning", "afternoon", "evening"
    at_hour: int | None = None  # "a las 19:00"
    deadline_hour: int | None = None  # "antes de las 14"

    @property
    def period(self) -> Period | None:
        return self.periods[0] if self.periods else None


def datetime_at(day: date, hour: int) -> datetime:
    """`hour`:00 of `day` on the factory's clock, as an aware datetime."""
    return datetime.combine(day, time(hour), SPAIN)


def week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _month(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _word(tokens: list[str], i: int) -> str:
    return tokens[i] if 0 <= i < len(tokens) else ""


def _is(token: str, *words: str) -> bool:
    return any(close_to(token, word) for word in words)


_HOUR = re.compile(r"(?:a las|a la|sobre las|at|@)\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm|h\b)?", re.IGNORECASE)
_DEADLINE = re.compile(
    r"(?:antes de las|antes de la|before|by|hasta las|until)\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm|h\b)?",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_LAST_N_DAYS = re.compile(r"(?:ultimos|last|past)\s+(\d{1,2})\s+(?:dias|days)")


def _hour_of(match: re.Match[str]) -> int | None:
    hour = int(match.group(1))
    suffix = (match.group(3) or "").lower()
    if suffix == "pm" and hour < 12:
        hour += 12
    if suffix == "am" and hour == 12:
        hour = 0
    return hour if 0 <= hour <= 23 else None


def parse(question: str, today: date) -> Parsed:
    """The periods (in the order named), part of the day, hour and deadline in `question`."""
    folded = fold(question)
    tokens = tokenize(question)
    parsed = Parsed()
    found: list[tuple[int, Period]] = []

    def add(position: int, start: date, end: date, label: str) -> None:
        found.append((position, Period(start, end, label)))

    for match in _ISO_DATE.finditer(folded):
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:  # "2026-13-45" is no date
            continue
        add(match.start(), day, day, day.isoformat())
    for match in _LAST_N_DAYS.finditer(folded):
        n = max(1, int(match.group(1)))
        add(match.start(), today - timedelta(days=n - 1), today, f"last {n} days")

    future_words = any(t in _FUTURE for t in tokens)
    for i, token in enumerate(tokens):
        position = sum(len(t) + 1 for t in tokens[:i]) * 1000  # token order, after regex hits by char
        before, after, after2 = _word(tokens, i - 1), _word(tokens, i + 1), _word(tokens, i + 2)
        if _is(token, "hoy", "today") or token in ("tonight",) or (token in ("noche",) and before == "esta"):
            add(position, today, today, "today")
        elif _is(token, "manana") and before in ("pasado",):
            add(position, today + timedelta(days=2), today + timedelta(days=2), "day after tomorrow")
        elif (
            _is(token, "manana")
            and before not in ("la", "esta", "pasado")
            and not (before == "de" and _word(tokens, i - 2) in ("la", "las"))
        ):
            add(position, today + timedelta(days=1), today + timedelta(days=1), "tomorrow")
        elif _is(token, "tomorrow"):
            offset = 2 if before == "after" else 1
            add(position, today + timedelta(days=offset), today + timedelta(days=offset), "tomorrow")
        elif _is(token, "anteayer"):
            add(position, today - timedelta(days=2), today - timedelta(days=2), "day before yesterday")
        elif _is(token, "ayer", "yesterday"):
            offset = 2 if before == "before" else 1
            add(position, today - timedelta(days=offset), today - timedelta(days=offset), "yesterday")
        elif _is(token, "semana", "week"):
            neighbours = {before, after, after2, _word(tokens, i - 2)}
            monday, sunday = week_of(today)
            if neighbours & {"pasada", "last", "anterior", "previous"}:
                add(position, monday - timedelta(days=7), sunday - timedelta(days=7), "last week")
            elif neighbours & {"proxima", "next", "viene", "coming"}:
                add(position, monday + timedelta(days=7), sunday + timedelta(days=7), "next week")
            elif neighbours & {"esta", "this", "current", "actual"}:
                add(position, monday, sunday, "this week")
        elif _is(token, "mes", "month") and token not in ("mas", "me", "mis", "meses"):
            neighbours = {before, after, after2}
            first, last = _month(today.year, today.month)
            if neighbours & {"pasado", "last", "anterior", "previous"}:
                previous = first - timedelta(days=1)
                add(position, *_month(previous.year, previous.month), "last month")
            elif neighbours & {"este", "this", "current", "actual"}:
                add(position, first, last, "this month")
        elif (weekday := _weekday(token)) is not None:
            delta = (today.weekday() - weekday) % 7
            if {after, after2, before} & {"pasado", "last", "anterior", "previous"} or before == "last":
                delta = delta or 7
                day = today - timedelta(days=delta)
            elif {before, after} & {"proximo", "next", "viene", "que"} or future_words:
                day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
            else:
                day = today - timedelta(days=delta)
            add(position, day, day, ENGLISH_WEEKDAYS[weekday])
        elif (month := _month_number(token, before)) is not None:
            year = today.year if month <= today.month else today.year - 1
            add(position, *_month(year, month), ENGLISH_MONTHS[month - 1])

    parsed.periods = [period for _, period in sorted(found, key=lambda item: item[0])]
    _parts_of_day(parsed, tokens)
    deadline = _DEADLINE.search(folded)
    at = _HOUR.search(folded)
    if deadline is not None:
        parsed.deadline_hour = _hour_of(deadline)
    elif at is not None:
        parsed.at_hour = _hour_of(at)
    return parsed


def _weekday(token: str) -> int | None:
    for names in (SPANISH_WEEKDAYS, ENGLISH_WEEKDAYS):
        for index, name in enumerate(names):
            if close_to(token, name):
                return index
    return None


def _month_number(token: str, before: str) -> int | None:
    if token in ("may",) and before not in ("in", "of", "en", "de"):
        return None  # "may" is a verb more often than a month
    for names in (SPANISH_MONTHS, ENGLISH_MONTHS):
        for index, name in enumerate(names):
            if close_to(token, name) or (
                len(token) == 3 and token == name[:3] and token not in ("mar", "may")
            ):
                return index + 1
    return None


def _parts_of_day(parsed: Parsed, tokens: list[str]) -> None:
    text = " ".join(tokens)
    if re.search(r"\b(madrugada|early morning|small hours|de madrugada)\b", text):
        parsed.part_of_day, parsed.hours = "early", EARLY_HOURS
    elif re.search(r"\b(noche|night|nighttime|overnight|nocturno|nocturna|tonight)\b", text):
        parsed.part_of_day, parsed.hours = "night", NIGHT_HOURS
    elif re.search(r"\b(por la manana|esta manana|de la manana|in the morning|this morning|morning)\b", text):
        parsed.part_of_day, parsed.hours = "morning", MORNING_HOURS
    elif re.search(r"\b(por la tarde|esta tarde|de la tarde|afternoon)\b", text):
        parsed.part_of_day, parsed.hours = "afternoon", AFTERNOON_HOURS
    elif re.search(r"\b(evening)\b", text):
        parsed.part_of_day, parsed.hours = "evening", EVENING_HOURS
