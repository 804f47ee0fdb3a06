"""Production batches are bounded, and the summary's work is bounded by the period it is asked about.

The app runs under `python -m app`; rows a bounded app could not have stored (a batch ending in year 9999,
from before the bounds existed) are written straight into its SQLite file, as they sit in old databases.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bi.conftest import REPO_ROOT
from tests.support.services import free_port, http_answers, python_argv, service

MAX_HOURS = 72


@dataclass
class App:
    url: str
    data_dir: Path


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    workdir = tmp_path_factory.mktemp("batch-bounds")
    port = free_port()
    with service(
        "app-batch-bounds",
        python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
        port=port,
        log_dir=workdir,
        env={
            "CF_DATA_DIR": str(workdir / "data"),
            "CF_SCHEDULER_ENABLED": "false",
            "CF_PRODUCTION_LOCAL_WRITER": "local-operator",
        },
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as running:
        yield App(running.url, workdir / "data")


def _batch(started_at: str, ended_at: str, product: str = "dark 70%") -> dict[str, Any]:
    return {"started_at": started_at, "ended_at": ended_at, "product": product, "kg": 400, "kwh": 220}


def _post(app: App, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{app.url}/production/batches", json=body, timeout=10)


def test_a_batch_of_the_maximum_length_is_stored_and_a_longer_one_refused(app: App) -> None:
    start = datetime(2026, 6, 8, 6, tzinfo=UTC)
    longest = _post(app, _batch(start.isoformat(), (start + timedelta(hours=MAX_HOURS)).isoformat(), "a"))
    assert longest.status_code == 201, longest.text

    too_long = _post(
        app, _batch(start.isoformat(), (start + timedelta(hours=MAX_HOURS, minutes=1)).isoformat())
    )
    assert too_long.status_code == 422
    [error] = too_long.json()["detail"]
    assert error["loc"] == ["body", "ended_at"]
    assert "at most 72 h (CF_PRODUCTION_BATCH_MAX_HOURS)" in error["msg"]


@pytest.mark.parametrize(
    ("started_at", "ended_at", "field"),
    [
        ("1999-12-31T22:00:00+00:00", "2000-01-01T01:00:00+00:00", "started_at"),
        ("2099-12-31T23:00:00+00:00", "2100-01-01T01:00:00+00:00", "ended_at"),
        # Converting these to UTC overflows Python's datetime: they must be refused, not crash.
        ("0001-01-01T00:00:00+01:00", "0001-01-01T02:00:00+01:00", "started_at"),
        ("9999-12-31T20:00:00-05:00", "9999-12-31T22:00:00-05:00", "started_at"),
        ("2026-06-08T06:00:00+00:00", "9999-12-31T23:00:00-05:00", "ended_at"),
    ],
)
def test_batch_times_outside_2000_to_2100_are_refused_naming_the_field(
    app: App, started_at: str, ended_at: str, field: str
) -> None:
    response = _post(app, _batch(started_at, ended_at))
    assert response.status_code == 422, response.text
    fields = [error["loc"] for error in response.json()["detail"]]
    assert ["body", field] in fields
    assert "between 2000-01-01 and 2100-01-01" in response.text


def _store_unbounded_batch(data_dir: Path, started_at: datetime) -> None:
    """A row an unbounded app stored: it ends in year 9999 (the format SQLAlchemy writes on SQLite)."""
    with sqlite3.connect(data_dir / "app.db") as conn:
        conn.execute(
            "INSERT INTO production_batches (started_at, ended_at, product, kg, kwh, source, created_at) "
            "VALUES (?, '9999-12-31 23:00:00.000000', 'hostile', 1, 1000, 'api', ?)",
            (started_at.strftime("%Y-%m-%d %H:%M:%S.%f"), started_at.strftime("%Y-%m-%d %H:%M:%S.%f")),
        )


def test_a_stored_batch_ending_in_9999_neither_slows_the_summary_nor_freezes_health(
    app: App,
) -> None:
    _store_unbounded_batch(app.data_dir, datetime.now(UTC) - timedelta(days=1))
    slowest_health = 0.0
    done = threading.Event()

    def probe_health() -> None:
        nonlocal slowest_health
        with httpx.Client(timeout=30) as client:
            while not done.is_set():
                began = time.perf_counter()
                client.get(f"{app.url}/health")
                slowest_health = max(slowest_health, time.perf_counter() - began)
                time.sleep(0.02)

    prober = threading.Thread(target=probe_health)
    prober.start()
    try:
        # Before the bound, pricing the batch hour by hour to year 9999 held the event loop for minutes.
        summaries = [
            httpx.get(f"{app.url}/bi/production/summary", params={"days": 7}, timeout=10) for _ in range(3)
        ]
    finally:
        done.set()
        prober.join(timeout=60)
    for summary in summaries:
        assert summary.status_code == 200, summary.text
        hostile = next(p for p in summary.json()["by_product"] if p["product"] == "hostile")
        assert hostile["kwh"] == 1000
    assert slowest_health < 1.0, f"/health waited {slowest_health:.2f} s behind the summary"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "0001-01-01T00:00:00+01:00", "end": "2026-01-01T00:00:00+00:00"}, "start", "2000-01-01"),
        ({"start": "2026-01-01T00:00:00+00:00", "end": "9999-12-31T23:00:00-05:00"}, "end", "2100-01-01"),
        (
            {"start": "2020-01-01T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"},
            "end",
            "at most 366 days",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/bi/production/summary", "/production/batches"])
def test_a_queried_period_lies_in_range_and_spans_at_most_a_year(
    app: App, path: str, params: dict[str, str], field: str, message: str
) -> None:
    response = httpx.get(f"{app.url}{path}", params=params, timeout=10)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", field]
    assert message in error["msg"]
