"""Every periodic job of the app, named in one registry, run by one process at a time.

The registry
------------
`JOBS` lists each job once: its name (shown at GET /scheduler/jobs and in metrics), the coroutine that
does the work, and its trigger (built from settings, so tests and operators can change intervals).
A job is `async def job(ctx: AppContext) -> str | None`; the returned text is stored as the run's detail.
Adding a job is one line in `JOBS`, plus its interval setting in app/settings.py::

    ScheduledJob("refresh-chat-stats", refresh_chat_stats, every(lambda s: s.chat_stats_interval_seconds),
                 "recount the chat's daily statistics"),

Every job runs with `coalesce=True` (runs missed while the process was busy or down collapse into
one), `max_instances=1` and a misfire grace (`CF_SCHEDULER_MISFIRE_GRACE_SECONDS`).

One runner across processes
---------------------------
Each process starts its own `AsyncIOScheduler`, but before a job runs the process must hold the lease
row `jobs` in the `scheduler_lease` table (holder id and expiry). The holder renews it every
`CF_SCHEDULER_LEASE_RENEW_SECONDS`; others try to take it over at the same pace and succeed only after it
expired (`CF_SCHEDULER_LEASE_SECONDS`) or was released at shutdown. Taking and renewing is one atomic
`UPDATE ... WHERE holder = me OR expires_at < now`, so it works on SQLite and on a shared PostgreSQL
server alike. Runs of other processes are skipped (counted in `cf_job_skipped_total`), so each job runs
once per interval however many workers start. When the lease changes hands, the new holder also skips
a run that the previous one made less than half an interval before. Every run is recorded in
`scheduler_job_runs`.

Runs of a dead process
----------------------
A process killed mid-run (`kill -9`, out of memory, power loss) leaves its run `running`. The lease says
when that process is gone: whoever takes the lease over (it expired, or was released) marks every run
still `running` from another holder, or from before this process started (a restarted container keeps
its hostname and often its pid), as `abandoned`. An abandoned run counts as a failure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app import metrics
from app.analytics.jobs import (
    ingest_access_log_job,
    log_tailnet_status_job,
    prune_analytics_job,
    snapshot_tailnet_job,
)
from app.bi.ingestion import backfill_gaps_job, ingest_prices_job, ingest_weather_job
from app.context import AppContext
from app.db import Database, inserted_id, upsert, utc_now
from app.errors import ExpectedFailure
from app.job_history import prune_job_runs_job
from app.settings import Settings
from app.tables import FAILED_STATUSES, scheduler_job_runs, scheduler_lease

log = logging.getLogger(__name__)

JobFunc = Callable[[AppContext], Awaitable[str | None]]
TriggerFactory = Callable[[Settings], BaseTrigger]


def every(seconds: Callable[[Settings], float]) -> TriggerFactory:
    """A trigger factory: run every `seconds(settings)` seconds."""

    def build(settings: Settings) -> BaseTrigger:
        return IntervalTrigger(seconds=seconds(settings))

    return build


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    run: JobFunc
    trigger: TriggerFactory
    description: str
    run_on_start: bool = False
    tailnet_figures: bool = False  # its run details count the tailnet's devices, users or requests


JOBS: list[ScheduledJob] = [
    ScheduledJob(
        "ingest-prices",
        ingest_prices_job,
        every(lambda s: s.prices_interval_seconds),
        "hourly PVPC prices from REE, today and tomorrow (Spanish days)",
        run_on_start=True,
    ),
    ScheduledJob(
        "ingest-weather",
        ingest_weather_job,
        every(lambda s: s.weather_interval_seconds),
        "hourly temperature and humidity at the factory (Open-Meteo; AEMET when a key is set)",
        run_on_start=True,
    ),
    ScheduledJob(
        "backfill-gaps",
        backfill_gaps_job,
        every(lambda s: s.gap_check_interval_seconds),
        "refetch hours missing since the last stored hour (bounded by CF_BACKFILL_MAX_DAYS)",
        run_on_start=True,
    ),
    ScheduledJob(
        "snapshot-tailnet",
        snapshot_tailnet_job,
        every(lambda s: s.analytics_snapshot_interval_seconds),
        "store the tailnet's devices, users and traffic (history for uptime and users over time)",
        run_on_start=True,
        tailnet_figures=True,
    ),
    ScheduledJob(
        "ingest-access-log",
        ingest_access_log_job,
        every(lambda s: s.analytics_ingest_interval_seconds),
        "store nginx's new access-log lines with their user and device",
        run_on_start=True,
        tailnet_figures=True,
    ),
    ScheduledJob(
        "log-tailnet-status",
        log_tailnet_status_job,
        every(lambda s: s.analytics_status_log_interval_seconds),
        "one log line: devices by kind, online, users against the plan",
        tailnet_figures=True,
    ),
    ScheduledJob(
        "prune-analytics",
        prune_analytics_job,
        every(lambda s: 86400),
        "delete access-log requests and tailnet snapshots older than CF_ANALYTICS_RETENTION_DAYS",
        tailnet_figures=True,
    ),
    ScheduledJob(
        "prune-job-runs",
        prune_job_runs_job,
        every(lambda s: 86400),
        "delete job runs older than CF_SCHEDULER_RUN_HISTORY_DAYS, keeping each job's last run and error",
    ),
]

LEASE_NAME = "jobs"


def default_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class LeaseState:
    holder: str
    acquired_at: datetime
    expires_at: datetime


class SchedulerLease:
    """The database row that says which process runs the jobs, until when."""

    def __init__(self, db: Database, holder: str, ttl_seconds: float, name: str = LEASE_NAME) -> None:
        self.db = db
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_seconds)
        self.name = name
        self.held = False

    async def acquire(self) -> bool:
        """Take the lease if it is free or expired, renew it if ours; True when this process holds it."""
        now = utc_now()
        expires = now + self.ttl
        async with self.db.begin() as conn:
            await conn.execute(
                upsert(
                    scheduler_lease,
                    [{"name": self.name, "holder": self.holder, "acquired_at": now, "expires_at": expires}],
                    dialect=conn.dialect.name,
                    update_columns=[],
                )
            )
            taken = await conn.execute(
                scheduler_lease.update()
                .where(
                    scheduler_lease.c.name == self.name,
                    sa.or_(scheduler_lease.c.holder == self.holder, scheduler_lease.c.expires_at < now),
                )
                .values(
                    holder=self.holder,
                    expires_at=expires,
                    acquired_at=sa.case(
                        (scheduler_lease.c.holder == self.holder, scheduler_lease.c.acquired_at), else_=now
                    ),
                )
            )
        was_held, self.held = self.held, taken.rowcount == 1
        if self.held != was_held:
            log.info(
                "scheduler lease taken" if self.held else "scheduler lease held elsewhere",
                extra={"fields": {"holder": self.holder}},
            )
        metrics.SCHEDULER_LEASE_HELD.set(1 if self.held else 0)
        return self.held

    async def release(self) -> None:
        """Let another process take over now rather than after expiry."""
        if not self.held:
            return
        async with self.db.begin() as conn:
            await conn.execute(
                scheduler_lease.update()
                .where(scheduler_lease.c.name == self.name, scheduler_lease.c.holder == self.holder)
                .values(expires_at=utc_now())
            )
        self.held = False
        metrics.SCHEDULER_LEASE_HELD.set(0)

    async def state(self) -> LeaseState | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(sa.select(scheduler_lease).where(scheduler_lease.c.name == self.name))
            ).first()
        return LeaseState(row.holder, row.acquired_at, row.expires_at) if row else None


@dataclass(frozen=True)
class JobRun:
    started_at: datetime
    finished_at: datetime | None
    status: str
    detail: str | None
    holder: str


@dataclass(frozen=True)
class JobStatus:
    name: str
    description: str
    tailnet_figures: bool
    trigger: str
    next_run_at: datetime | None
    last_run: JobRun | None
    last_error: JobRun | None
    runs: int
    failures: int


class JobScheduler:
    """This process's APScheduler, its jobs from `JOBS`, and the lease that decides who runs them."""

    def __init__(self, ctx: AppContext, jobs: Sequence[ScheduledJob] | None = None) -> None:
        settings = ctx.settings  # validated: the lease is renewed more often than it lasts
        self.ctx = ctx
        self.jobs = list(JOBS if jobs is None else jobs)
        names = [job.name for job in self.jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names in app/scheduler.py JOBS must be unique: {names}")
        self.lease = SchedulerLease(
            ctx.db, settings.scheduler_instance_id or default_holder_id(), settings.scheduler_lease_seconds
        )
        self.started_at = utc_now()
        self._lease_lock = asyncio.Lock()  # the renewal and the jobs' checks take the lease one at a time
        self.scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": settings.scheduler_misfire_grace_seconds,
            },
        )

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    async def start(self) -> None:
        try:
            await self._hold_lease()
        except Exception:
            log.exception("could not read the scheduler lease; retrying on the renew interval")
        start_now = utc_now()
        for job in self.jobs:
            first_run: dict[str, datetime] = {}
            if job.run_on_start and self.ctx.settings.scheduler_run_on_start:
                first_run["next_run_time"] = start_now
            self.scheduler.add_job(
                self._execute,
                job.trigger(self.ctx.settings),
                args=[job],
                id=job.name,
                name=job.name,
                **first_run,
            )
        self.scheduler.add_job(
            self._renew_lease,
            IntervalTrigger(seconds=self.ctx.settings.scheduler_lease_renew_seconds),
            id="scheduler-lease",
            name="scheduler-lease",
        )
        self.scheduler.start()
        log.info(
            "scheduler started",
            extra={"fields": {"jobs": [job.name for job in self.jobs], "holder": self.lease.holder}},
        )

    async def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        try:
            await self.lease.release()
        except Exception:
            log.exception("could not release the scheduler lease; it expires by itself")

    async def _renew_lease(self) -> None:
        try:
            await self._hold_lease()
        except Exception:
            log.exception("scheduler lease renewal failed")

    async def _hold_lease(self) -> bool:
        """Take or renew the lease; on taking it, mark the runs its previous holders left behind."""
        async with self._lease_lock:
            was_held = self.lease.held
            holds = await self.lease.acquire()
            if holds and not was_held:
                await self._abandon_dead_runs()
            return holds

    async def _abandon_dead_runs(self) -> None:
        """Mark `abandoned` the runs still `running` that no live process will finish.

        Called once this process holds the lease, which it got only because the previous holder's
        expired or was released: runs of other holders, and this holder id's runs from before this
        process started, belong to a process that is gone.
        """
        runs = scheduler_job_runs.c
        dead = (runs.status == "running") & (
            (runs.holder != self.lease.holder) | (runs.started_at < self.started_at)
        )
        async with self.ctx.db.begin() as conn:
            left = (await conn.execute(sa.select(runs.id, runs.job, runs.holder).where(dead))).all()
            if not left:
                return
            await conn.execute(
                scheduler_job_runs.update()
                .where(runs.id.in_([row.id for row in left]), runs.status == "running")
                .values(
                    status="abandoned",
                    detail=f"its process stopped before the run finished; marked when "
                    f"{self.lease.holder} took over the scheduler lease",
                )
            )
        for row in left:
            metrics.JOB_RUNS.labels(row.job, "abandoned").inc()
            metrics.JOB_FAILURES.labels(row.job).inc()
        log.warning(
            "job runs of a stopped process marked abandoned",
            extra={"fields": {"runs": len(left), "jobs": sorted({row.job for row in left})}},
        )

    async def _execute(self, job: ScheduledJob) -> None:
        """Run `job` if this process holds the lease, and record the run."""
        try:
            holds = await self._hold_lease()
        except Exception:
            log.exception(
                "scheduler lease check failed; skipping this run", extra={"fields": {"job": job.name}}
            )
            holds = False
        if not holds or await self._ran_elsewhere_recently(job):
            metrics.JOB_SKIPPED.labels(job.name).inc()
            return
        run_id = await self._record_start(job.name)
        started = time.perf_counter()
        status, detail = "error", "cancelled"
        try:
            detail = await job.run(self.ctx) or ""
            status = "ok"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            log.error(
                "job failed",
                exc_info=not isinstance(exc, ExpectedFailure),
                extra={"fields": {"job": job.name, "error": detail}},
            )
        finally:
            elapsed = time.perf_counter() - started
            metrics.JOB_RUNS.labels(job.name, status).inc()
            metrics.JOB_DURATION.labels(job.name).observe(elapsed)
            if status != "ok":
                metrics.JOB_FAILURES.labels(job.name).inc()
            log.info(
                "job finished",
                extra={"fields": {"job": job.name, "status": status, "detail": detail, "seconds": elapsed}},
            )
            await asyncio.shield(self._record_end(run_id, status, detail))

    async def _ran_elsewhere_recently(self, job: ScheduledJob) -> bool:
        """After a hand-over, skip a run that another process made less than half an interval ago."""
        trigger = job.trigger(self.ctx.settings)
        if not isinstance(trigger, IntervalTrigger):
            return False
        half_interval = timedelta(seconds=trigger.interval.total_seconds() / 2)
        runs = scheduler_job_runs.c
        async with self.ctx.db.connect() as conn:
            last = (
                await conn.execute(
                    sa.select(runs.started_at, runs.holder)
                    .where(runs.job == job.name)
                    .order_by(runs.started_at.desc())
                    .limit(1)
                )
            ).first()
        return (
            last is not None
            and last.holder != self.lease.holder
            and utc_now() - last.started_at < half_interval
        )

    async def _record_start(self, job: str) -> int:
        async with self.ctx.db.begin() as conn:
            result = await conn.execute(
                scheduler_job_runs.insert().values(
                    job=job, holder=self.lease.holder, started_at=utc_now(), status="running"
                )
            )
            return inserted_id(result)

    async def _record_end(self, run_id: int, status: str, detail: str) -> None:
        async with self.ctx.db.begin() as conn:
            await conn.execute(
                scheduler_job_runs.update()
                .where(scheduler_job_runs.c.id == run_id)
                .values(finished_at=utc_now(), status=status, detail=detail[:4000])
            )

    def next_run_at(self, name: str) -> datetime | None:
        job = self.scheduler.get_job(name)
        return job.next_run_time if job is not None else None

    async def status(self) -> list[JobStatus]:
        return await job_statuses(self.ctx.db, self.jobs, self.ctx.settings, self.next_run_at)


def _job_run(row: sa.Row[tuple[object, ...]] | None) -> JobRun | None:
    if row is None:
        return None
    return JobRun(row.started_at, row.finished_at, row.status, row.detail, row.holder)


async def job_statuses(
    db: Database,
    jobs: Sequence[ScheduledJob],
    settings: Settings,
    next_run_at: Callable[[str], datetime | None] = lambda _name: None,
) -> list[JobStatus]:
    """Each registered job with its trigger, next run (in this process), last run and last error."""
    statuses: list[JobStatus] = []
    runs = scheduler_job_runs.c
    async with db.connect() as conn:
        for job in jobs:
            newest = (
                sa.select(scheduler_job_runs).where(runs.job == job.name).order_by(runs.id.desc()).limit(1)
            )
            last_run = (await conn.execute(newest)).first()
            last_error = (await conn.execute(newest.where(runs.status.in_(FAILED_STATUSES)))).first()
            counts = (
                await conn.execute(
                    sa.select(
                        sa.func.count(),
                        sa.func.coalesce(
                            sa.func.sum(sa.case((runs.status.in_(FAILED_STATUSES), 1), else_=0)), 0
                        ),
                    ).where(runs.job == job.name)
                )
            ).one()
            statuses.append(
                JobStatus(
                    name=job.name,
                    description=job.description,
                    tailnet_figures=job.tailnet_figures,
                    trigger=str(job.trigger(settings)),
                    next_run_at=next_run_at(job.name),
                    last_run=_job_run(last_run),
                    last_error=_job_run(last_error),
                    runs=int(counts[0]),
                    failures=int(counts[1]),
                )
            )
    return statuses
