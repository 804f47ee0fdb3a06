"""Grounded figures: is every number of an answer one that a tool returned?

A figure of the answer is supported when some number of the tool results (or of the question, or of the
factory's settings that the system prompt states) matches it:

- allowing for rounding: "0.07" matches 0.0712 (half a unit of the answer's last digit);
- in either language's format: "0,0712", "0.0712", "1.234,5", "1,234.5" (an ambiguous "1.234" may be
  either reading);
- after a unit change: ×100 (€/kWh -> c€/kWh, a ratio -> %), ×1000 (€/kWh -> €/MWh), ÷1000
  (kWh -> MWh, kg -> t).

Numbers inside the results' strings count too (the day and hour of "2026-11-25T19:00+01:00"), so dates
and times in the answer are checked like any figure. List markers ("1. ") and names with digits ("P1",
"2.0TD") are not figures.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: A number as written in Spanish or English: digits with "." or "," between groups.
_NUMBER = re.compile(r"(?<![A-Za-z0-9])\d+(?:[.,]\d+)*")
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
#: Names that contain digits but are not figures: the tariff "2.0TD".
_NAMES = re.compile(r"\b\d+[.,]\d+\s?TD\b", re.IGNORECASE)
_LIST_MARKER = re.compile(r"(?m)^\s*\d+[.)]\s")
#: Unit changes an answer may make to a tool's figure.
_FACTORS = (1.0, 100.0, 1000.0, 0.001, 0.01)


@dataclass(frozen=True)
class Reading:
    """One way to read a written number: its value and how many decimals were written."""

    value: float
    decimals: int


def readings(text: str) -> list[Reading]:
    """The plausible values of a written number ("1.234" is 1.234 or 1234)."""
    separators = [ch for ch in text if ch in ".,"]
    digits_only = text.replace(".", "").replace(",", "")
    if not separators:
        return [Reading(float(text), 0)]
    groups = re.split(r"[.,]", text)
    if len(set(separators)) == 2:  # both: the last one is the decimal mark
        decimal = separators[-1]
        thousands = "," if decimal == "." else "."
        whole, _, fraction = text.replace(thousands, "").partition(decimal)
        return [Reading(float(f"{whole}.{fraction}"), len(fraction))]
    if len(separators) > 1:  # the same mark several times: thousands groups
        return [Reading(float(digits_only), 0)]
    whole, fraction = groups
    options = [Reading(float(f"{whole}.{fraction}"), len(fraction))]
    if len(fraction) == 3 and whole != "0":
        options.append(Reading(float(digits_only), 0))
    return options


def figures_in(text: str) -> list[tuple[str, list[Reading]]]:
    """The figures written in `text`, each with its readings; list markers are skipped."""
    cleaned = _NAMES.sub(" ", _LIST_MARKER.sub(" ", text))
    return [(match.group(), readings(match.group())) for match in _NUMBER.finditer(cleaned)]


def _numbers_of(value: Any) -> Iterable[float]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, str):  # results write numbers the JSON way: "2026-11-25T19:00+01:00"
        yield from (float(number) for number in _PLAIN_NUMBER.findall(value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers_of(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _numbers_of(item)


@dataclass
class Evidence:
    """Every number the answer may cite."""

    values: list[float] = field(default_factory=list)

    def add(self, source: Any) -> None:
        self.values.extend(_numbers_of(source))

    def supports(self, reading: Reading) -> bool:
        tolerance = 0.5 * 10 ** (-reading.decimals)
        target = abs(reading.value)
        for value in self.values:
            for factor in _FACTORS:
                scaled = abs(value) * factor
                if abs(scaled - target) <= tolerance * (1 + 1e-9) or math.isclose(
                    scaled, target, rel_tol=1e-9
                ):
                    return True
        return False


@dataclass(frozen=True)
class Grounding:
    grounded: bool
    unsupported_figures: list[str]


def check(answer: str, evidence: Evidence) -> Grounding:
    """Which figures of `answer` no piece of `evidence` supports."""
    unsupported = [
        written
        for written, options in figures_in(answer)
        if not any(evidence.supports(reading) for reading in options)
    ]
    return Grounding(grounded=not unsupported, unsupported_figures=unsupported)
