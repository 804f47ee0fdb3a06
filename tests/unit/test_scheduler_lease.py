"""The scheduler's database lease and job options, in one process against a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.context import AppContext
from app.db import Database
from app.scheduler import JOBS, JobScheduler, ScheduledJob, SchedulerLease, every
from app.settings import Settings


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


async def test_only_one_holder_until_the_lease_expires_or_is_released(db: Database) -> None:
    first = SchedulerLease(db, "worker-1", ttl_seconds=0.5)
    second = SchedulerLease(db, "worker-2", ttl_seconds=0.5)
    assert await first.acquire()
    assert not await second.acquire(), "held by worker-1"
    assert await first.acquire(), "the holder renews"
    await asyncio.sleep(0.7)
    assert await second.acquire(), "an expired lease can be taken over"
    assert not await first.acquire(), "the old holder learns it lost the lease"
    await second.release()
    assert await first.acquire(), "a released lease is free at once"
    state = await first.state()
    assert state is not None and state.holder == "worker-1"


async def test_jobs_are_coalesced_single_instance_with_a_misfire_grace(tmp_path: Path, db: Database) -> None:
    runs: list[str] = []

    async def record(ctx: AppContext) -> str:
        runs.append("ran")
        return "done"

    settings = Settings(data_dir=tmp_path, scheduler_misfire_grace_seconds=42, scheduler_instance_id="solo")
    jobs = [ScheduledJob("demo", record, every(lambda s: 3600), "a demo job", run_on_start=True)]
    async with httpx.AsyncClient() as http:
        scheduler = JobScheduler(AppContext.create(settings, db, http), jobs)
        await scheduler.start()
        try:
            job = scheduler.scheduler.get_job("demo")
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 42)
            for _ in range(50):
                statuses = await scheduler.status()
                if statuses[0].last_run is not None and statuses[0].last_run.status == "ok":
                    break
                await asyncio.sleep(0.05)
            (status,) = statuses
            assert runs == ["ran"]
            assert status.last_run is not None and (status.last_run.detail, status.last_run.holder) == (
                "done",
                "solo",
            )
            assert status.next_run_at is not None
        finally:
            await scheduler.shutdown()


def test_every_registered_job_has_a_unique_name_and_an_interval_from_settings() -> None:
    names = [job.name for job in JOBS]
    assert len(names) == len(set(names))
    assert {"ingest-prices", "ingest-weather", "backfill-gaps"} <= set(names)
    intervals = {job.name: str(job.trigger(Settings(prices_interval_seconds=120))) for job in JOBS}
    assert intervals["ingest-prices"] == "interval[0:02:00]"


async def test_a_restart_under_the_same_holder_id_marks_the_runs_of_its_dead_predecessor(
    tmp_path: Path, db: Database
) -> None:
    """A restarted container keeps its hostname (and often its pid): its old runs are still abandoned."""
    from app.db import utc_now
    from app.tables import scheduler_job_runs

    async with db.begin() as conn:
        await conn.execute(
            scheduler_job_runs.insert().values(
                job="demo", holder="app-prod", started_at=utc_now(), status="running"
            )
        )
    settings = Settings(data_dir=tmp_path, scheduler_instance_id="app-prod", scheduler_run_on_start=False)
    jobs = [ScheduledJob("demo", lambda ctx: asyncio.sleep(0, "done"), every(lambda s: 3600), "a demo job")]
    async with httpx.AsyncClient() as http:
        scheduler = JobScheduler(AppContext.create(settings, db, http), jobs)
        await scheduler.start()
        try:
            (status,) = await scheduler.status()
        finally:
            await scheduler.shutdown()
    assert status.last_run is not None and status.last_run.status == "abandoned"
    assert status.last_error == status.last_run and status.failures == 1
