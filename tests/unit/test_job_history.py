"""Retention of the scheduler's run history, against a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from app.context import AppContext
from app.db import Database, utc_now
from app.scheduler import JOBS, job_statuses
from app.settings import Settings
from app.tables import scheduler_job_runs


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


async def _record(db: Database, job: str, days_ago: float, status: str) -> int:
    started = utc_now() - timedelta(days=days_ago)
    async with db.begin() as conn:
        result = await conn.execute(
            scheduler_job_runs.insert().values(
                job=job,
                holder="worker-1",
                started_at=started,
                finished_at=None if status == "running" else started + timedelta(seconds=2),
                status=status,
                detail=f"{job} {status} {days_ago} days ago",
            )
        )
        return int(result.inserted_primary_key[0])


async def _stored_ids(db: Database) -> set[int]:
    async with db.connect() as conn:
        return {row[0] for row in await conn.execute(sa.select(scheduler_job_runs.c.id))}


async def test_the_daily_job_deletes_old_runs_but_keeps_each_jobs_last_run_and_last_error(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = {
        "a-old-ok": await _record(db, "ingest-prices", 40, "ok"),
        "a-old-error": await _record(db, "ingest-prices", 35, "error"),
        "a-month-ok": await _record(db, "ingest-prices", 31, "ok"),
        "a-recent-ok": await _record(db, "ingest-prices", 29, "ok"),
        "a-newest-ok": await _record(db, "ingest-prices", 1, "ok"),
        "b-oldest-error": await _record(db, "backfill-gaps", 50, "error"),
        "b-old-error": await _record(db, "backfill-gaps", 48, "error"),
        "b-old-ok": await _record(db, "backfill-gaps", 45, "ok"),
        "c-running": await _record(db, "ingest-weather", 2, "running"),
    }
    monkeypatch.setenv("CF_SCHEDULER_RUN_HISTORY_DAYS", "30")
    settings = Settings()
    before = await job_statuses(db, JOBS, settings)

    (prune,) = [job for job in JOBS if job.name == "prune-job-runs"]
    async with httpx.AsyncClient() as http:
        detail = await prune.run(AppContext.create(settings, db, http))

    assert detail == "3 job runs older than 30 days deleted"
    kept = {"a-recent-ok", "a-newest-ok", "a-old-error", "b-old-error", "b-old-ok", "c-running"}
    assert await _stored_ids(db) == {ids[name] for name in kept}
    after = await job_statuses(db, JOBS, settings)
    assert [(s.name, s.last_run, s.last_error) for s in after] == [
        (s.name, s.last_run, s.last_error) for s in before
    ]
    by_name = {s.name: s for s in after}
    assert (by_name["ingest-prices"].runs, by_name["ingest-prices"].failures) == (3, 1)
    assert (by_name["backfill-gaps"].runs, by_name["backfill-gaps"].failures) == (2, 1)


def test_the_run_history_setting_has_a_default_and_refuses_zero() -> None:
    assert Settings().scheduler_run_history_days == 30
    with pytest.raises(ValueError, match="scheduler_run_history_days"):
        Settings(scheduler_run_history_days=0)
