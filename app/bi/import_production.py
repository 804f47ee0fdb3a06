"""`python -m app.bi.import_production --as LOGIN FILE`: import production batches from a CSV file.

`--as` names who writes the batches: a login allowed by `CF_PRODUCTION_WRITERS` (or one of its groups,
see app/bi/writers.py), or `CF_PRODUCTION_LOCAL_WRITER` on a machine without a tailnet. It is recorded
with every batch stored.

The header names the columns, in any order: `started_at,ended_at,product,kg,kwh`. Times are ISO 8601;
a time without a UTC offset is read as Spanish local time (Europe/Madrid). Commas or semicolons
separate fields; with semicolons, decimals may use a comma (`12,5`), as Spanish spreadsheets write them.

Rows obey the API's bounds: times between 2000-01-01 and 2100-01-01, a batch at most
CF_PRODUCTION_BATCH_MAX_HOURS long, finite kg and kWh within their ranges, a product name of at most 100
characters.

Good rows are stored (source `csv`); a batch already stored (same start and product) is skipped, so
importing a file twice stores it once. Bad rows are reported on stderr by line number and stored
nowhere. Exit status: 0 all rows good, 1 some rows bad (the good ones were kept), 2 nothing imported:
the file itself could not be read, or the writer is not allowed, 3 the database stayed locked by
another writer for CF_DB_BUSY_TIMEOUT_MS (nothing was stored: run it again).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from app.bi.production import BatchIn, insert_batches
from app.bi.tariff import SPAIN
from app.bi.writers import WriterRefused, check_writer
from app.db import Database, is_database_locked
from app.settings import Settings

COLUMNS = ("started_at", "ended_at", "product", "kg", "kwh")


class CsvFormatError(ValueError):
    """The file cannot be read as a batch CSV at all (no header, missing columns)."""


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def _time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip())
    return parsed.replace(tzinfo=SPAIN) if parsed.tzinfo is None else parsed


def _number(value: str, decimal_comma: bool) -> str:
    value = value.strip()
    return value.replace(",", ".") if decimal_comma else value


def parse_rows(text: str, max_batch_hours: float) -> tuple[list[tuple[int, BatchIn]], list[str]]:
    """Good rows with their line numbers, and one message per bad row (`line N: ...`)."""
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if reader.fieldnames is None:
        raise CsvFormatError("the file is empty: expected a header line " + ",".join(COLUMNS))
    names = {name.strip().lower(): name for name in reader.fieldnames if name}
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise CsvFormatError(
            f"the header lacks {', '.join(missing)}; expected columns: {','.join(COLUMNS)} "
            f"(found: {','.join(reader.fieldnames)})"
        )
    good: list[tuple[int, BatchIn]] = []
    errors: list[str] = []
    for row in reader:
        line = reader.line_num
        values = {column: (row.get(names[column]) or "") for column in COLUMNS}
        if not any(v.strip() for v in values.values()):
            continue
        try:
            batch = BatchIn(
                started_at=_time(values["started_at"]),
                ended_at=_time(values["ended_at"]),
                product=values["product"],
                kg=_number(values["kg"], delimiter == ";"),
                kwh=_number(values["kwh"], delimiter == ";"),
            )
        except ValueError as exc:
            errors.append(f"line {line}: {_describe(exc)}")
            continue
        too_long = batch.duration_error(max_batch_hours)
        if too_long is not None:
            errors.append(f"line {line}: ended_at: {too_long}")
            continue
        good.append((line, batch))
    return good, errors


def _describe(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "row"
            parts.append(f"{where}: {error['msg']}")
        return "; ".join(parts)
    return f"started_at/ended_at: {exc}"


async def import_csv(db: Database, text: str, writer: str, max_batch_hours: float) -> ImportReport:
    good, errors = parse_rows(text, max_batch_hours)
    ids, duplicates = await insert_batches(db, [batch for _line, batch in good], "csv", writer)
    return ImportReport(imported=len(ids), duplicates=duplicates, errors=errors)


async def _run(path: Path, text: str, settings: Settings, writer: str) -> int:
    db = Database.from_settings(settings)
    try:
        await db.migrate()
        report = await import_csv(db, text, writer, settings.production_batch_max_hours)
    except CsvFormatError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        if not is_database_locked(exc):
            raise
        print(
            f"{path}: the database stayed locked by another writer for "
            f"{settings.db_busy_timeout_ms / 1000:g} s (CF_DB_BUSY_TIMEOUT_MS); nothing was imported: "
            "run the import again",
            file=sys.stderr,
        )
        return 3
    finally:
        await db.dispose()
    for error in report.errors:
        print(f"{path}: {error}", file=sys.stderr)
    print(
        f"{path}: {report.imported} batch(es) imported, {report.duplicates} already stored, "
        f"{len(report.errors)} bad row(s) skipped"
    )
    return 1 if report.errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.bi.import_production", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--as",
        dest="writer",
        required=True,
        metavar="LOGIN",
        help="who writes the batches: a login of CF_PRODUCTION_WRITERS (recorded with each batch)",
    )
    parser.add_argument("file", type=Path, help="CSV file with started_at,ended_at,product,kg,kwh")
    args = parser.parse_args(argv)
    settings = Settings()
    try:
        writer = check_writer(args.writer, settings)
    except WriterRefused as refused:
        print(f"nothing imported: {refused}", file=sys.stderr)
        return 2
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"cannot read {args.file}: not UTF-8 text (save the CSV as UTF-8)", file=sys.stderr)
        return 2
    return asyncio.run(_run(args.file, text, settings, writer))


if __name__ == "__main__":
    sys.exit(main())
