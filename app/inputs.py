"""Bounded input types every request model and query parameter uses: finite numbers, valid text, sane dates.

- `FiniteFloat`: a float that is not NaN, Infinity or an overflow (JSON `1e400` parses to infinity).
- `Text`: valid Unicode (no lone surrogates, which JSON's `\\ud800` escapes can carry and which neither
  SQLite nor the Messages API can store or send); each field gives its own `max_length`.
- `InRangeDatetime`: timezone-aware, between `EARLIEST` and `LATEST`, so that converting it to UTC or
  adding a batch's hours to it can never overflow near year 1 or 9999.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

#: Dates the app accepts, anywhere (inclusive start, exclusive end), in UTC.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
DATE_RANGE = "between 2000-01-01 and 2100-01-01 (UTC)"
#: No setting may let a production batch last longer than this (the upper bound of
#: CF_PRODUCTION_BATCH_MAX_HOURS); the production summary prices no batch hour beyond it.
LONGEST_BATCH_HOURS = 24 * 31


def date_range_error(value: datetime) -> str | None:
    """Why `value` (timezone-aware) is out of range; None when it is within it.

    Comparing aware datetimes never overflows (CPython compares their UTC offsets separately), so this is
    safe for 0001-01-01T00:00+01:00 too, which `astimezone(UTC)` cannot represent.
    """
    if EARLIEST <= value < LATEST:
        return None
    return f"must lie {DATE_RANGE}"


def _in_range(value: datetime) -> datetime:
    error = date_range_error(value)
    if error is not None:
        raise ValueError(error)
    return value


def text_error(value: str) -> str | None:
    """Why `value` is not valid Unicode text; None when it is."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (it holds a lone surrogate such as \\ud800)"
    return None


def _valid_text(value: str) -> str:
    error = text_error(value)
    if error is not None:
        raise ValueError(error)
    return value


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Text = Annotated[str, AfterValidator(_valid_text)]
InRangeDatetime = Annotated[AwareDatetime, AfterValidator(_in_range)]
