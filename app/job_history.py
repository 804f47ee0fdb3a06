"""Old scheduler runs are deleted after CF_SCHEDULER_RUN_HISTORY_DAYS, a bounded chunk per transaction.

The newest run and the newest failed run of every job are kept however old they are, so
GET /scheduler/jobs still shows each job's last run and last error. Its `runs` and `failures` counts
then cover the kept history only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.context import AppContext
from app.db import Database, utc_now
from app.tables import FAILED_STATUSES, scheduler_job_runs

CHUNK_ROWS = 20_000


def _kept_run_ids() -> sa.CompoundSelect[tuple[int]]:
    """Per job: the id of its newest run and of its newest failed run."""
    runs = scheduler_job_runs.c
    newest = sa.select(sa.func.max(runs.id)).group_by(runs.job)
    newest_error = sa.select(sa.func.max(runs.id)).where(runs.status.in_(FAILED_STATUSES)).group_by(runs.job)
    return sa.union(newest, newest_error)


async def prune_job_runs(db: Database, retention_days: int, now: datetime | None = None) -> int:
    """Delete runs that started more than `retention_days` before `now`; returns how many."""
    cutoff = (now or utc_now()) - timedelta(days=retention_days)
    runs = scheduler_job_runs.c
    old = (
        sa.select(runs.id).where(runs.started_at < cutoff, runs.id.not_in(_kept_run_ids())).limit(CHUNK_ROWS)
    )
    deleted = 0
    while True:
        async with db.begin() as conn:
            ids = [row[0] for row in await conn.execute(old)]
            if not ids:
                return deleted
            await conn.execute(scheduler_job_runs.delete().where(runs.id.in_(ids)))
        deleted += len(ids)


async def prune_job_runs_job(ctx: AppContext) -> str:
    """Delete runs older than CF_SCHEDULER_RUN_HISTORY_DAYS, keeping each job's last run and error."""
    days = ctx.settings.scheduler_run_history_days
    deleted = await prune_job_runs(ctx.db, days)
    return f"{deleted} job runs older than {days} days deleted"
