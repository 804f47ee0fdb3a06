"""Two app processes on one database: each job runs once per interval, and the survivor takes over.

The lease outlives a few renewals (10 s against 1 s) so that a busy machine does not hand it over by
expiry; stopping the runner releases it, so the survivor takes over at its next renewal.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

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
        before = len(runs)
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
