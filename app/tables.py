"""Tables the app's core owns (scheduler runs and lease) and their migrations."""

from __future__ import annotations

import sqlalchemy as sa

from app.db import Migration, UTCDateTime, create_tables, metadata

scheduler_lease = sa.Table(
    "scheduler_lease",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True, doc="which lease: 'jobs' for the scheduler"),
    sa.Column("holder", sa.String(200), nullable=False, doc="process holding it: host:pid unless configured"),
    sa.Column("acquired_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, doc="others may take it over after this"),
)

scheduler_job_runs = sa.Table(
    "scheduler_job_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(100), nullable=False),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, doc="running, ok, error or abandoned"),
    sa.Column("detail", sa.Text, nullable=True, doc="what the run did, or its error"),
    sa.Index("ix_scheduler_job_runs_job_started", "job", "started_at"),
)

#: Run statuses that count as failures: the job raised, or its process died before it finished.
FAILED_STATUSES = ("error", "abandoned")

MIGRATIONS: list[Migration] = [
    Migration(1, "scheduler lease and job runs", create_tables(scheduler_lease, scheduler_job_runs)),
]
