"""`python -m app.bi.import_production --as LOGIN FILE`, run as an operator runs it, on a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from tests.support.services import python_argv

REPO_ROOT = Path(__file__).resolve().parents[2]

CSV = """started_at,ended_at,product,kg,kwh
2026-06-08T07:00:00+02:00,2026-06-08T11:00:00+02:00,dark 70%,420,231
2026-06-08T13:00:00+02:00,2026-06-08T12:00:00+02:00,milk 35%,380,235.6
2026-06-09T07:00,2026-06-09T11:00,white,300,174
not a time,2026-06-09T11:00,white,300,174
2026-06-10T07:00:00+02:00,2026-06-10T11:00:00+02:00,pralines,-5,80
"""


WRITERS = {"CF_PRODUCTION_WRITERS": '["ana@example.com"]'}


def _import(
    path: Path, data_dir: Path, writer: str = "ana@example.com", env: dict[str, str] = WRITERS
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        python_argv("-m", "app.bi.import_production", "--as", writer, str(path)),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "CF_DATA_DIR": str(data_dir), **env},
        timeout=60,
    )


def _batches(data_dir: Path) -> list[tuple[str, str, float, float, str]]:
    with sqlite3.connect(data_dir / "app.db") as conn:
        return conn.execute(
            "SELECT started_at, product, kg, kwh, source FROM production_batches ORDER BY started_at"
        ).fetchall()


def test_bad_rows_are_reported_by_line_and_good_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "batches.csv"
    path.write_text(CSV)
    result = _import(path, tmp_path / "data")
    assert result.returncode == 1, result.stderr
    errors = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in errors] == ["line 3", "line 5", "line 6"]
    assert "ended_at must be after started_at" in errors[0]
    assert "kg" in errors[2]
    assert "2 batch(es) imported" in result.stdout
    stored = _batches(tmp_path / "data")
    assert [(row[1], row[4]) for row in stored] == [("dark 70%", "csv"), ("white", "csv")]
    assert stored[1][0].startswith("2026-06-09 05:00:00"), "a time without offset is Spanish local time"


def test_importing_the_same_file_twice_stores_each_batch_once(tmp_path: Path) -> None:
    path = tmp_path / "batches.csv"
    path.write_text(CSV)
    _import(path, tmp_path / "data")
    again = _import(path, tmp_path / "data")
    assert "0 batch(es) imported, 2 already stored" in again.stdout
    assert len(_batches(tmp_path / "data")) == 2


def test_a_spanish_spreadsheet_export_with_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "lotes.csv"
    path.write_text(
        "Started_At;Ended_At;Product;KG;KWH\n2026-06-08T07:00;2026-06-08T11:00;dark 70%;420,5;231,25\n"
    )
    result = _import(path, tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert [(row[2], row[3]) for row in _batches(tmp_path / "data")] == [(420.5, 231.25)]


def test_a_file_without_the_needed_columns_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("start,end,what\n2026-06-08T07:00,2026-06-08T11:00,dark\n")
    result = _import(path, tmp_path / "data")
    assert result.returncode == 2
    assert "the header lacks started_at, ended_at, product, kg, kwh" in result.stderr


def test_the_example_file_shipped_with_the_app_imports_cleanly(tmp_path: Path) -> None:
    result = _import(REPO_ROOT / "app" / "sample_data" / "production_batches.csv", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert len(_batches(tmp_path / "data")) == 3


def test_the_import_records_the_writer_it_names(tmp_path: Path) -> None:
    path = tmp_path / "batches.csv"
    path.write_text(CSV)
    _import(path, tmp_path / "data", writer="Ana@Example.com")
    with sqlite3.connect(tmp_path / "data" / "app.db") as conn:
        writers = conn.execute("SELECT written_by, created_at FROM production_batches").fetchall()
    assert len(writers) == 2
    assert {writer for writer, _at in writers} == {"Ana@Example.com"}
    assert all(at for _writer, at in writers)


def test_a_writer_not_in_the_setting_imports_nothing_and_is_told_which_setting(tmp_path: Path) -> None:
    path = tmp_path / "batches.csv"
    path.write_text(CSV)
    refused = _import(path, tmp_path / "data", writer="eve@example.com")
    assert refused.returncode == 2
    assert "eve@example.com may not record production batches" in refused.stderr
    assert "CF_PRODUCTION_WRITERS" in refused.stderr
    assert not (tmp_path / "data" / "app.db").exists(), "nothing was written"


def test_the_local_writer_imports_on_a_machine_without_a_tailnet(tmp_path: Path) -> None:
    path = tmp_path / "batches.csv"
    path.write_text(CSV)
    local = {"CF_PRODUCTION_LOCAL_WRITER": "local-operator", "CF_PRODUCTION_WRITERS": "[]"}
    result = _import(path, tmp_path / "data", writer="local-operator", env=local)
    assert "2 batch(es) imported" in result.stdout, result.stderr


def test_rows_beyond_the_apis_bounds_are_reported_by_line_and_the_rest_imported(tmp_path: Path) -> None:
    path = tmp_path / "batches.csv"
    path.write_text(
        "started_at,ended_at,product,kg,kwh\n"
        "2026-06-08T07:00:00+02:00,9999-12-31T23:00:00+02:00,dark 70%,420,231\n"
        "2026-06-08T07:00:00+02:00,2026-06-11T07:01:00+02:00,milk 35%,380,235\n"
        "0001-01-01T00:00:00+01:00,0001-01-01T03:00:00+01:00,white,300,174\n"
        "2026-06-09T07:00:00+02:00,2026-06-09T11:00:00+02:00,white,1e400,174\n"
        "2026-06-09T07:00:00+02:00,2026-06-09T11:00:00+02:00,pralines,300,NaN\n"
        "2026-06-08T07:00:00+02:00,2026-06-11T07:00:00+02:00,milk 35%,380,235\n"
    )
    result = _import(path, tmp_path / "data")
    assert result.returncode == 1, result.stderr
    errors = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in errors] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "ended_at" in errors[0] and "between 2000-01-01 and 2100-01-01" in errors[0]
    assert "at most 72 h (CF_PRODUCTION_BATCH_MAX_HOURS)" in errors[1]
    assert "started_at" in errors[2] and "between 2000-01-01 and 2100-01-01" in errors[2]
    assert "kg" in errors[3] and "finite" in errors[3]
    assert "kwh" in errors[4] and "finite" in errors[4]
    assert "1 batch(es) imported" in result.stdout, "a batch of exactly 72 h is kept"
    assert [row[1] for row in _batches(tmp_path / "data")] == ["milk 35%"]
