"""A PostgreSQL restart while a real app process (`python -m app`) serves reads and writes.

Requests may fail only while the server is down, and then with a 503 that says so and carries a
Retry-After; once the server is back the same app process answers again (its pool drops the dead
connections and opens new ones), every write it acknowledged is stored, and its scheduler holds the
database lease again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import PostgresCluster
from tests.support.services import free_port, http_answers, python_argv, service, wait_until

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]

WRITER = "restart-test"
DOWN_SECONDS = 1.5


@dataclass
class Outcome:
    sent: float
    status: int  # 0: no HTTP answer at all
    retry_after: str | None
    write: bool


def traffic(url: str, stop: threading.Event, outcomes: list[Outcome]) -> None:
    """Alternate a read (the batch list) and a write (a new batch), as fast as the app answers."""
    first = datetime(2026, 6, 1, tzinfo=UTC)
    with httpx.Client(base_url=url, timeout=15) as client:
        n = 0
        while not stop.is_set():
            write = n % 2 == 1
            sent = time.monotonic()
            try:
                if write:
                    start = first + timedelta(hours=n)
                    response = client.post(
                        "/production/batches",
                        json={
                            "started_at": start.isoformat(),
                            "ended_at": (start + timedelta(hours=1)).isoformat(),
                            "product": "dark 70%",
                            "kg": 100.0,
                            "kwh": 50.0,
                        },
                    )
                else:
                    response = client.get("/production/batches", params={"days": 1})
                retry_after = response.headers.get("retry-after")
                outcomes.append(Outcome(sent, response.status_code, retry_after, write))
            except httpx.HTTPError:
                outcomes.append(Outcome(sent, 0, None, write))
            n += 1
            time.sleep(0.02)


def _ready(url: str) -> tuple[bool, bool, bool]:
    """(database reachable, scheduler running, lease held) as /ready reports them."""
    body = httpx.get(f"{url}/ready", timeout=5).json()
    return body["database"], body["scheduler"]["running"], body["scheduler"]["holds_lease"]


def test_requests_fail_only_while_postgresql_restarts_then_recover_without_an_app_restart(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    database = "restart_drill"
    postgres_cluster.drop_database(database)
    database_url = postgres_cluster.create_database(database)
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "CF_DATA_DIR": str(tmp_path / "data"),
        # The scheduler runs (no job is due: nothing fetches) so its database lease lives through the restart.
        "CF_SCHEDULER_ENABLED": "true",
        "CF_SCHEDULER_RUN_ON_START": "false",
        "CF_SCHEDULER_LEASE_SECONDS": "4",
        "CF_SCHEDULER_LEASE_RENEW_SECONDS": "0.5",
        "CF_PRODUCTION_LOCAL_WRITER": WRITER,
        "CF_LOG_FORMAT": "text",
        "CF_DB_CONNECT_TIMEOUT_SECONDS": "2",
    }
    with service(
        "app-postgres",
        python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
        port=port,
        log_dir=tmp_path / "logs",
        env=env,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/ready", 200),
        timeout=60,
    ) as app:
        outcomes: list[Outcome] = []
        stop = threading.Event()
        worker = threading.Thread(target=traffic, args=(app.url, stop, outcomes), daemon=True)
        wait_until(lambda: _ready(app.url) == (True, True, True), 10, "the scheduler's lease")
        worker.start()
        try:
            wait_until(lambda: sum(o.status in (200, 201) for o in outcomes) >= 20, 30, "traffic before")
            down_from = time.monotonic()
            postgres_cluster.stop()
            time.sleep(DOWN_SECONDS)
            postgres_cluster.start()
            up_at = time.monotonic()
            seen = len(outcomes)
            wait_until(lambda: len(outcomes) >= seen + 40, 30, "traffic after the restart")
        finally:
            stop.set()
            worker.join(timeout=30)
            if not (postgres_cluster.data_dir / "postmaster.pid").exists():
                postgres_cluster.start()

        failed = [o for o in outcomes if o.status not in (200, 201)]
        early = [o for o in failed if o.sent < down_from]
        assert not early, f"{len(early)} requests failed before the server stopped"
        assert failed, "requests sent while the server was down must have failed"
        outside = [(round(o.sent - down_from, 2), o.status) for o in failed if not o.sent <= up_at]
        assert not outside, f"failures outside the restart ({up_at - down_from:.1f} s): {outside}"
        assert {(o.status, o.retry_after) for o in failed} == {(503, "2")}, (
            "while the database is unreachable the app answers 503 with Retry-After, not a 500"
        )
        after = [o for o in outcomes if o.sent > up_at]
        assert after and all(o.status in (200, 201) for o in after)
        assert app.alive(), "the app recovered by itself: the same process still serves"
        wait_until(
            lambda: _ready(app.url) == (True, True, True), 10, "the scheduler's lease after the restart"
        )

        acknowledged = sum(1 for o in outcomes if o.write and o.status == 201)
        listed = httpx.get(
            f"{app.url}/production/batches",
            params={"start": "2026-06-01T00:00:00Z", "end": "2026-07-15T00:00:00Z", "limit": 5000},
        ).json()["batches"]
        assert len(listed) == acknowledged, "every batch the app acknowledged is stored, none twice"
    postgres_cluster.drop_database(database)
