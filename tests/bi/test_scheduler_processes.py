"""Two app processes on one database: each job runs once per interval, and the survivor takes over.

The lease outlives a few renewals (10 s against 1 s) so that a busy machine does not hand it over by
expiry; stopping the runner releases it, so the survivor takes over at its next renewal.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.bi.conftest import REPO_ROOT, StandIn, app_argv, app_env
from tests.support.services import free_port, http_answers, service, stop_process, wait_until

INTERVAL = 2.0
JOBS = ("ingest-prices", "ingest-weather")
LEASE_SECONDS = 10.0


def _runs(db_path: Path) -> list[tuple[str, str, datetime]]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT job, holder, started_at FROM scheduler_job_runs WHERE job IN (?, ?) ORDER BY started_at",
            JOBS,
        ).fetchall()
    return [(job, holder, datetime.fromisoformat(started)) for job, holder, started in rows]


def _assert_once_per_interval(runs: list[tuple[str, str, datetime]]) -> None:
    for job in JOBS:
        starts = [started for name, _holder, started in runs if name == job]
        gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
        assert all(gap >= INTERVAL * 0.5 for gap in gaps), f"{job} ran twice in one interval: gaps {gaps}"


@pytest.mark.slow
def test_two_processes_run_each_job_once_per_interval_and_the_survivor_takes_over(
    tmp_path: Path, ree: StandIn, open_meteo: StandIn
) -> None:
    data_dir = tmp_path / "data"
    db_path = data_dir / "app.db"
    settings = {
        "CF_PRICES_INTERVAL_SECONDS": str(INTERVAL),
        "CF_WEATHER_INTERVAL_SECONDS": str(INTERVAL),
        "CF_GAP_CHECK_INTERVAL_SECONDS": "3600",
        "CF_SCHEDULER_LEASE_SECONDS": str(LEASE_SECONDS),
        "CF_SCHEDULER_LEASE_RENEW_SECONDS": "1",
    }
    with ExitStack() as stack:
        apps = {}
        for name in ("a", "b"):
            port = free_port()
            apps[name] = stack.enter_context(
                service(
                    f"app-{name}",
                    app_argv(port),
                    port=port,
                    log_dir=tmp_path,
                    env=app_env(
                        data_dir, ree, open_meteo, CF_SCHEDULER_INSTANCE_ID=f"worker-{name}", **settings
                    ),
                    cwd=REPO_ROOT,
                    ready=lambda port=port: http_answers(f"http://127.0.0.1:{port}/health", 200),
                )
            )
        time.sleep(4 * INTERVAL)
        runs = _runs(db_path)
        holders = {holder for _job, holder, _started in runs}
        assert len(holders) == 1, f"one process runs the jobs, not {holders}"
        _assert_once_per_interval(runs)
        for job in JOBS:
            assert sum(1 for name, _h, _s in runs if name == job) >= 2, f"{job} keeps running: {runs}"

        (runner,) = holders
        survivor = "b" if runner == "worker-a" else "a"
        stop_process(apps[runner[-1]].process)
        # Counted once the holder is gone: a run it started after `runs` was read is its own, too.
        before = len(_runs(db_path))
        wait_until(
            lambda: any(holder == f"worker-{survivor}" for _j, holder, _s in _runs(db_path)[before:]),
            LEASE_SECONDS + 4 * INTERVAL,
            f"worker-{survivor} taking over the jobs",
        )
        time.sleep(2 * INTERVAL)
        assert apps[survivor].alive()
        after = _runs(db_path)
        _assert_once_per_interval(after)
        assert {holder for _j, holder, _s in after[before:]} == {f"worker-{survivor}"}


def _prices_runs(db_path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT status, holder, detail FROM scheduler_job_runs WHERE job = 'ingest-prices' ORDER BY id"
        ).fetchall()
    return [(status, holder, detail) for status, holder, detail in rows]


def test_a_run_killed_with_sigkill_is_marked_abandoned_once_its_lease_expired(
    tmp_path: Path, ree: StandIn, open_meteo: StandIn
) -> None:
    """The successor has its own holder id (hostname:pid), so it may take the lease only after expiry."""
    data_dir = tmp_path / "data"
    db_path = data_dir / "app.db"
    lease_seconds = 5.0
    settings = {
        "CF_SCHEDULER_LEASE_SECONDS": str(lease_seconds),
        "CF_SCHEDULER_LEASE_RENEW_SECONDS": "0.5",
        "CF_HTTP_TIMEOUT_SECONDS": "120",
    }
    ree.set_mode("slow", delay_seconds=120)
    port = free_port()
    with service(
        "app-killed",
        app_argv(port),
        port=port,
        log_dir=tmp_path,
        env=app_env(data_dir, ree, open_meteo, **settings),
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as killed:
        wait_until(lambda: len(_prices_runs(db_path)) == 1, 30, "a price run under way")
        os.killpg(killed.process.pid, signal.SIGKILL)
        killed.process.wait(timeout=10)
    assert [status for status, _h, _d in _prices_runs(db_path)] == ["running"], "kill -9 leaves it running"

    with sqlite3.connect(db_path) as conn:
        (expires,) = conn.execute("SELECT expires_at FROM scheduler_lease WHERE name = 'jobs'").fetchone()
    lease_expiry = datetime.fromisoformat(expires).replace(tzinfo=UTC)
    seen: list[tuple[datetime, str]] = []

    def marked() -> bool:
        status = _prices_runs(db_path)[0][0]
        seen.append((datetime.now(UTC), status))
        return status != "running"

    def observe_while_starting(port: int) -> bool:
        marked()
        return http_answers(f"http://127.0.0.1:{port}/health", 200)

    ree.set_mode("ok")
    port = free_port()
    with service(
        "app-restarted",
        app_argv(port),
        port=port,
        log_dir=tmp_path,
        env=app_env(data_dir, ree, open_meteo, **settings),
        cwd=REPO_ROOT,
        ready=lambda: observe_while_starting(port),
    ) as restarted:
        wait_until(marked, 3 * lease_seconds, "the killed run marked")
        jobs = httpx.get(f"{restarted.url}/scheduler/jobs").json()["jobs"]
        job = next(j for j in jobs if j["name"] == "ingest-prices")

    status, _holder, detail = _prices_runs(db_path)[0]
    assert status == "abandoned"
    assert detail is not None and "stopped before the run finished" in detail
    early = {status for at, status in seen if at < lease_expiry - timedelta(seconds=0.5)}
    assert early == {"running"}, "a run is abandoned only once its process's lease expired"
    assert job["last_error"]["status"] == "abandoned"
    assert job["failures"] >= 1
    assert [status for status, _h, _d in _prices_runs(db_path)].count("running") == 0
