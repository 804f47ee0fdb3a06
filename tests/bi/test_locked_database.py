"""A second process holds SQLite's write lock (as a long CSV import does) while the app is asked to write.

A batch write waits CF_DB_BUSY_TIMEOUT_MS, then answers 503 with Retry-After and stores nothing; it
succeeds once the lock is released. A chat answer is still given, and its stats row lands once the lock
is released instead of being dropped. The import itself, locked out, exits 3 with a message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.bi.conftest import REPO_ROOT
from tests.support.services import free_port, http_answers, python_argv, service, wait_until

BUSY_TIMEOUT_MS = 1000
BATCH = {
    "started_at": "2026-06-08T06:00:00+00:00",
    "ended_at": "2026-06-08T09:00:00+00:00",
    "product": "dark 70%",
    "kg": 400,
    "kwh": 220,
}
# Takes SQLite's write lock (BEGIN IMMEDIATE) and holds it until its stdin closes.
HOLD_THE_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@dataclass
class App:
    url: str
    data_dir: Path


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    port = free_port()
    with service(
        "app-locked-db",
        python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
        port=port,
        log_dir=tmp_path,
        env={
            "CF_DATA_DIR": str(tmp_path / "data"),
            "CF_SCHEDULER_ENABLED": "false",
            "CF_PRODUCTION_LOCAL_WRITER": "local-operator",
            "CF_DB_BUSY_TIMEOUT_MS": str(BUSY_TIMEOUT_MS),
            "ANTHROPIC_API_KEY": "",
        },
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as running:
        yield App(running.url, tmp_path / "data")


@contextmanager
def write_lock_held(data_dir: Path) -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_WRITE_LOCK, str(data_dir / "app.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_a_batch_written_during_an_import_gets_503_with_retry_after_then_succeeds(app: App) -> None:
    with write_lock_held(app.data_dir):
        began = time.monotonic()
        response = httpx.post(f"{app.url}/production/batches", json=BATCH, timeout=30)
        waited = time.monotonic() - began
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert "CF_DB_BUSY_TIMEOUT_MS" in response.json()["detail"]
    assert "nothing was stored" in response.json()["detail"]
    assert BUSY_TIMEOUT_MS / 1000 <= waited < BUSY_TIMEOUT_MS / 1000 + 3, f"answered after {waited:.1f} s"

    again = httpx.post(f"{app.url}/production/batches", json=BATCH, timeout=30)
    assert again.status_code == 201, again.text
    assert again.json()["duplicate"] is False, "the refused write stored nothing"


def _questions(app: App) -> int:
    count: int = httpx.get(f"{app.url}/chat/stats", params={"days": 1}, timeout=10).json()["totals"][
        "questions"
    ]
    return count


def test_chat_stats_written_during_an_import_land_once_the_lock_is_released(app: App) -> None:
    with write_lock_held(app.data_dir):
        answers = [
            httpx.post(f"{app.url}/chat/ask", json={"question": q}, timeout=30)
            for q in ("¿Cuánto cuesta la luz ahora?", "When is it cheapest to produce?")
        ]
        assert [a.status_code for a in answers] == [200, 200]
        assert _questions(app) == 0, "the stats cannot be written while the lock is held"
    wait_until(lambda: _questions(app) == 2, 30, "both questions in /chat/stats after the lock is released")


def test_an_import_locked_out_past_the_busy_timeout_exits_3_and_says_so(app: App, tmp_path: Path) -> None:
    csv = tmp_path / "batches.csv"
    csv.write_text("started_at,ended_at,product,kg,kwh\n2026-06-08T07:00,2026-06-08T11:00,dark 70%,420,231\n")
    with write_lock_held(app.data_dir):
        result = subprocess.run(
            python_argv("-m", "app.bi.import_production", "--as", "local-operator", str(csv)),
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "CF_DATA_DIR": str(app.data_dir),
                "CF_DB_BUSY_TIMEOUT_MS": "500",
                "CF_PRODUCTION_LOCAL_WRITER": "local-operator",
            },
            timeout=60,
        )
    assert result.returncode == 3, result.stderr
    assert "locked by another writer" in result.stderr and "CF_DB_BUSY_TIMEOUT_MS" in result.stderr
    assert "Traceback" not in result.stderr
