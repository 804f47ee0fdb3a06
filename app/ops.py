"""Operational endpoints: /health, /ready, /version, /metrics and /scheduler/jobs.

`/health` is liveness: 200 whenever the process answers. `/ready` is readiness: 503 when the database
does not answer or the scheduler should run and does not (restarting or not routing to the process can
help), 200 otherwise. Stale or missing upstream data does not make the app unready (a restart cannot
fix an REE outage): it turns `status` into `degraded` and is reported per source.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app import __version__, metrics
from app.analytics.access import is_analytics_reader
from app.analytics.alerts import refresh_metrics as refresh_tailnet_metrics
from app.bi import queries
from app.context import AppContext, get_context
from app.db import utc_now
from app.scheduler import JOBS, JobScheduler, JobStatus, default_holder_id, job_statuses

router = APIRouter(tags=["ops"])
Context = Annotated[AppContext, Depends(get_context)]

SourceState = Literal["fresh", "stale", "empty", "disabled", "present", "sample"]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class VersionResponse(BaseModel):
    version: str = Field(description="release version (CF_VERSION)")
    app_version: str = Field(description="version of the app package")
    git_commit: str = Field(description="commit the image was built from (CF_GIT_COMMIT)")
    image_digest: str = Field(description="image digest the app runs from (CF_IMAGE_DIGEST)")
    environment: str = Field(description="local, dev or prod (CF_ENVIRONMENT)")


class SourceStatus(BaseModel):
    dataset: Literal["prices", "weather", "production"]
    source: str
    status: SourceState = Field(
        description="fresh/stale (by age of the last delivery), empty (nothing stored), disabled "
        "(not configured), present (recorded by people: no expected pace), sample (labelled sample data)"
    )
    rows: int
    newest_ts: datetime | None = Field(description="newest hour stored (prices may reach into tomorrow)")
    last_fetched_at: datetime | None = Field(description="when the source last delivered stored data")
    age_seconds: float | None = Field(description="seconds since last_fetched_at")
    stale_after_seconds: float | None = None


class SchedulerState(BaseModel):
    enabled: bool
    running: bool
    holder: str = Field(description="this process's lease holder id")
    holds_lease: bool = Field(description="true when this process is the one running the jobs")


class ReadyResponse(BaseModel):
    status: Literal["ready", "degraded", "not_ready"]
    database: bool
    scheduler: SchedulerState
    sources: list[SourceStatus]


class JobRunModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    started_at: datetime
    finished_at: datetime | None
    status: Literal["running", "ok", "error", "abandoned"] = Field(
        description="abandoned: the process running it died before it finished (marked when another "
        "took over the scheduler lease)"
    )
    detail: str | None = Field(description="what the run did, or its error")
    holder: str
    detail_hidden: bool = Field(
        default=False,
        description="true when `detail` holds tailnet figures (devices, users, requests) and the reader is "
        "not a tailnet admin (CF_ANALYTICS_ADMINS): it is then null",
    )


class JobModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str
    trigger: str
    next_run_at: datetime | None = Field(description="next run in this process (null: scheduler not running)")
    last_run: JobRunModel | None
    last_error: JobRunModel | None = Field(description="the newest run that failed or was abandoned")
    runs: int
    failures: int = Field(description="runs that failed or were abandoned")


class LeaseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    holder: str
    acquired_at: datetime
    expires_at: datetime


class JobsResponse(BaseModel):
    scheduler: SchedulerState
    lease: LeaseModel | None = Field(description="the process that runs the jobs, until when")
    jobs: list[JobModel]


def _scheduler(request: Request) -> JobScheduler | None:
    return getattr(request.app.state, "scheduler", None)


def _scheduler_state(ctx: AppContext, scheduler: JobScheduler | None) -> SchedulerState:
    return SchedulerState(
        enabled=ctx.settings.scheduler_enabled,
        running=scheduler is not None and scheduler.running,
        holder=scheduler.lease.holder
        if scheduler
        else ctx.settings.scheduler_instance_id or default_holder_id(),
        holds_lease=scheduler is not None and scheduler.lease.held,
    )


def source_statuses(ctx: AppContext, fresh: list[queries.SourceFreshness]) -> list[SourceStatus]:
    """Every expected source (stored or not) and every other stored source, with a state."""
    settings = ctx.settings
    by_key = {(f.dataset, f.source): f for f in fresh}
    expected: list[tuple[Literal["prices", "weather", "production"], str, float | None, bool]] = [
        ("prices", "ree", settings.prices_stale_after_seconds, True),
        ("weather", "open-meteo", settings.weather_stale_after_seconds, True),
        ("weather", "aemet", settings.weather_stale_after_seconds, bool(settings.aemet_api_key)),
        ("production", "api", None, True),
        ("production", "csv", None, True),
    ]
    statuses: list[SourceStatus] = []
    for dataset, source, stale_after, enabled in expected:
        found = by_key.pop((dataset, source), None)
        state: SourceState
        if not enabled:
            state = "disabled"
        elif found is None or found.rows == 0:
            state = "empty"
        elif stale_after is None:
            state = "present"
        else:
            state = "fresh" if (found.age_seconds or 0) <= stale_after else "stale"
        statuses.append(_status(dataset, source, state, found, stale_after))
    for (dataset, source), found in sorted(by_key.items()):
        statuses.append(_status(dataset, source, "sample" if source == "sample" else "present", found, None))
    return statuses


def _status(
    dataset: Literal["prices", "weather", "production"],
    source: str,
    state: SourceState,
    found: queries.SourceFreshness | None,
    stale_after: float | None,
) -> SourceStatus:
    return SourceStatus(
        dataset=dataset,
        source=source,
        status=state,
        rows=found.rows if found else 0,
        newest_ts=found.newest_ts if found else None,
        last_fetched_at=found.last_fetched_at if found else None,
        age_seconds=found.age_seconds if found else None,
        stale_after_seconds=stale_after,
    )


def _record_lag(fresh: list[queries.SourceFreshness]) -> None:
    for item in fresh:
        if item.age_seconds is not None and item.dataset != "production":
            metrics.INGESTION_LAG.labels(item.dataset, item.source).set(item.age_seconds)


@router.get("/health", response_model=HealthResponse)
async def health() -> HealthResponse:
    """Liveness: the process answers."""
    return HealthResponse()


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "database unreachable or scheduler not running"}},
)
async def ready(request: Request, response: Response, ctx: Context) -> ReadyResponse:
    """Readiness: database reachable, scheduler running, and the age of the newest data per source."""
    scheduler = _scheduler_state(ctx, _scheduler(request))
    database = await ctx.db.ping()
    sources: list[SourceStatus] = []
    if database:
        fresh = await queries.data_freshness(ctx.db, utc_now())
        _record_lag(fresh)
        sources = source_statuses(ctx, fresh)
    if not database or (scheduler.enabled and not scheduler.running):
        status: Literal["ready", "degraded", "not_ready"] = "not_ready"
        response.status_code = 503
    elif any(s.status in ("stale", "empty") and s.dataset != "production" for s in sources):
        status = "degraded"
    else:
        status = "ready"
    return ReadyResponse(status=status, database=database, scheduler=scheduler, sources=sources)


@router.get("/version", response_model=VersionResponse)
async def version(ctx: Context) -> VersionResponse:
    settings = ctx.settings
    return VersionResponse(
        version=settings.version,
        app_version=__version__,
        git_commit=settings.git_commit,
        image_digest=settings.image_digest,
        environment=settings.environment,
    )


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def prometheus_metrics(ctx: Context) -> Response:
    """Prometheus text format: requests, job runs and failures, ingestion lag, tailnet alerts' figures
    (refreshed on scrape)."""
    with contextlib.suppress(Exception):  # a database outage must not hide the other metrics
        _record_lag(await queries.data_freshness(ctx.db, utc_now()))
    with contextlib.suppress(Exception):
        await refresh_tailnet_metrics(ctx)
    return metrics.metrics_response()


def _job(status: JobStatus, show_tailnet_figures: bool) -> JobModel:
    job = JobModel.model_validate(status)
    if not status.tailnet_figures or show_tailnet_figures:
        return job
    hidden = {"detail": None, "detail_hidden": True}
    return job.model_copy(
        update={
            "last_run": job.last_run.model_copy(update=hidden) if job.last_run else None,
            "last_error": job.last_error.model_copy(update=hidden) if job.last_error else None,
        }
    )


@router.get("/scheduler/jobs", response_model=JobsResponse)
async def scheduler_jobs(request: Request, ctx: Context) -> JobsResponse:
    """Every registered job: trigger, next run, last run and last error (runs of all processes).

    The details of the analytics jobs count the tailnet's devices, users and requests: only tailnet
    admins (the analytics' own rule, app/analytics/access.py) see them; others get `detail_hidden`.
    """
    scheduler = _scheduler(request)
    if scheduler is not None:
        statuses = await scheduler.status()
        lease = await scheduler.lease.state()
    else:
        statuses = await job_statuses(ctx.db, JOBS, ctx.settings)
        lease = None
    show_tailnet_figures = is_analytics_reader(request, ctx.settings)
    return JobsResponse(
        scheduler=_scheduler_state(ctx, scheduler),
        lease=LeaseModel.model_validate(lease) if lease else None,
        jobs=[_job(s, show_tailnet_figures) for s in statuses],
    )
