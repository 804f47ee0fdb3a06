"""`kill -9` of the app while it ingests the access log and records chat questions, then a restart.

Nothing committed may be lost and nothing may be counted twice: every access-log line ends up stored
exactly once (each carries a unique request id), every question answered before the kill is in the
chat stats, and the restart adds no question that was not asked.

The database is read with sqlite3 directly, between the kill and the restart and after, because what is
on disk is the point: no app process is there to tell.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.bench.app_stack import AppStack, running_app
from tests.resilience.conftest import require_module
from tests.support.services import wait_until

LOG_LINES = 200_000
CHAT_WORKERS = 4


def write_access_log(path: Path, lines: int) -> None:
    """nginx's `cf_json` lines (sidecar/nginx.conf.template), each with a unique request id."""
    start = datetime.now(UTC) - timedelta(hours=1)
    with path.open("w") as log:
        for n in range(lines):
            ts = (start + timedelta(milliseconds=10 * n)).isoformat(timespec="seconds")
            record = {
                "time": ts,
                "client": f"100.64.0.{n % 200 + 1}",
                "method": "GET",
                "path": f"/dashboard?n={n}",
                "status": 200,
                "bytes": 512,
                "duration": 0.004,
                "user_agent": "Mozilla/5.0",
                "user_login": f"user{n % 5}@example.com",
                "user_name": f"User {n % 5}",
                "request_id": f"kill9-{n:08d}",
            }
            log.write(json.dumps(record, separators=(",", ":")) + "\n")


def _db(stack_data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{stack_data_dir / 'app.db'}?mode=ro", uri=True, timeout=10)


def stored_requests(data_dir: Path) -> tuple[int, int]:
    """(rows, distinct request ids) of the stored access-log requests."""
    with _db(data_dir) as conn:
        try:
            rows, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT request_id) FROM access_requests"
                " WHERE request_id LIKE 'kill9-%'"
            ).fetchone()
        except sqlite3.OperationalError:  # the table does not exist yet: migrations are running
            return 0, 0
    return int(rows), int(distinct)


def stored_questions(data_dir: Path) -> dict[str, int]:
    """conversation_id -> rows in chat_questions."""
    with _db(data_dir) as conn:
        rows = conn.execute("SELECT conversation_id, count(*) FROM chat_questions GROUP BY conversation_id")
        return {conversation: int(count) for conversation, count in rows}


@contextmanager
def asking(app: AppStack) -> Iterator[list[str]]:
    """Ask questions from a few threads until the block ends; yields the conversation ids answered 200."""
    answered: list[str] = []
    stop = threading.Event()

    def ask_until_stopped() -> None:
        with httpx.Client(base_url=app.url, timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.post("/chat/ask", json={"question": "¿Cuánto cuesta la luz ahora?"})
                except httpx.HTTPError:
                    continue  # the app was killed mid-request: that question was never answered
                if response.status_code == 200:
                    answered.append(response.json()["conversation_id"])

    threads = [threading.Thread(target=ask_until_stopped, daemon=True) for _ in range(CHAT_WORKERS)]
    for thread in threads:
        thread.start()
    try:
        yield answered
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def test_kill_9_during_ingestion_and_chat_loses_nothing_committed_and_counts_nothing_twice(
    tmp_path: Path,
) -> None:
    require_module("tests.standins.claude", "chat stats being written")
    access_log = tmp_path / "access.log"
    write_access_log(access_log, LOG_LINES)
    data_dir = tmp_path / "data"
    env = {
        "CF_ANALYTICS_ACCESS_LOG_PATH": str(access_log),
        "CF_ANALYTICS_INGEST_INTERVAL_SECONDS": "1",
        "CF_CHAT_RATE_LIMIT_REQUESTS": "1000000",
        # The killed process's scheduler lease must run out before the restarted one may run the jobs.
        "CF_SCHEDULER_LEASE_SECONDS": "3",
        "CF_SCHEDULER_LEASE_RENEW_SECONDS": "1",
    }

    with running_app(tmp_path / "first", data_dir=data_dir, env=env, with_scheduler=True) as first:
        with asking(first) as answered:
            wait_until(lambda: stored_requests(data_dir)[0] > 0, 60, "the first access-log batch stored")
            wait_until(lambda: len(answered) >= 3, 60, "chat answers")
            os.killpg(first.app.process.pid, signal.SIGKILL)
            first.app.process.wait(timeout=10)
        answered_before_kill = list(answered)

    rows_at_kill, distinct_at_kill = stored_requests(data_dir)
    questions_at_kill = stored_questions(data_dir)
    assert rows_at_kill < LOG_LINES, "the kill came after ingestion ended: raise LOG_LINES"
    assert rows_at_kill == distinct_at_kill
    not_stored = set(answered_before_kill) - set(questions_at_kill)
    assert not not_stored, f"answered questions missing from the stats after the kill: {not_stored}"
    assert all(count == 1 for count in questions_at_kill.values())

    with running_app(
        tmp_path / "second", data_dir=data_dir, env=env, with_scheduler=True, sample_data=False
    ) as second:
        wait_until(
            lambda: stored_requests(data_dir)[0] >= LOG_LINES, 120, "the rest of the access log stored"
        )
        time.sleep(2)  # a further ingestion run, which must find nothing new
        rows, distinct = stored_requests(data_dir)
        stats = httpx.get(f"{second.url}/chat/stats", timeout=10).json()

    assert rows == LOG_LINES, f"{rows} rows for {LOG_LINES} lines"
    assert distinct == LOG_LINES, f"{rows - distinct} lines stored twice"
    assert stored_questions(data_dir) == questions_at_kill
    assert stats["totals"]["questions"] == sum(questions_at_kill.values())
