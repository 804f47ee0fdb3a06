"""HTTP endpoints of the analytics feature; every one shows identities, so every one needs an admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.analytics import queries
from app.analytics.access import Viewer, require_analytics_reader
from app.analytics.accesslog import ingestion_totals
from app.analytics.alerts import alerts as current_alerts
from app.analytics.alerts import export_metrics, tailnet_health
from app.analytics.classify import DeviceKind
from app.analytics.models import (
    AccessLogEntry,
    AccessLogsResponse,
    AlertOut,
    AlertsResponse,
    AlertThresholds,
    DashboardUsageResponse,
    DeviceOut,
    DevicesResponse,
    DeviceUptime,
    Freshness,
    IngestionInfo,
    PathCount,
    QuotaResponse,
    UptimeResponse,
    UsageDay,
    UserActivity,
    UsersDay,
)
from app.analytics.service import current_tailnet
from app.context import AppContext, get_context

router = APIRouter(prefix="/analytics", tags=["analytics"])

Context = Annotated[AppContext, Depends(get_context)]
Reader = Annotated[Viewer, Depends(require_analytics_reader)]

FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "not a tailnet admin (CF_ANALYTICS_ADMINS)"}
}


@router.get("/devices", response_model=DevicesResponse, responses=FORBIDDEN)
async def devices(ctx: Context, _viewer: Reader) -> DevicesResponse:
    """Every device of the tailnet with its kind: own, tagged, shared-in or another user's."""
    view = await current_tailnet(ctx)
    return DevicesResponse(
        freshness=Freshness.model_validate(view),
        tailnet=view.tailnet,
        owner=view.owner,
        counts={kind.value: sum(1 for d in view.devices if d.kind is kind) for kind in DeviceKind},
        devices=[DeviceOut.model_validate(d) for d in view.devices],
    )


@router.get("/quota-status", response_model=QuotaResponse, responses=FORBIDDEN)
async def quota_status(ctx: Context, _viewer: Reader) -> QuotaResponse:
    """Seats used against the plan's limit (CF_ANALYTICS_PLAN_USER_LIMIT); `unknown` without data."""
    view = await current_tailnet(ctx)
    seats = view.quota(ctx.settings)
    return QuotaResponse(
        freshness=Freshness.model_validate(view),
        owner=view.owner,
        plan_limit=seats.limit,
        owner_counted=seats.owner_counted,
        used=seats.used,
        lower_bound=seats.used is not None and view.seats_lower_bound(ctx.settings),
        remaining=seats.remaining,
        over_limit=seats.over_limit,
        level=seats.level,
        warning_at=seats.warning_at,
        alert_at=seats.alert_at,
        users=list(seats.users),
    )


@router.get("/access-logs", response_model=AccessLogsResponse, responses=FORBIDDEN)
async def access_logs(
    ctx: Context,
    _viewer: Reader,
    hours: Annotated[int, Query(ge=1, le=24 * 31, description="window, hours back from now")] = 24,
    limit: Annotated[int, Query(ge=1, le=500, description="entries per page")] = 100,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**62, description="next_cursor of the previous page")
    ] = None,
    user: Annotated[str | None, Query(max_length=200, description="login or name contains")] = None,
    path: Annotated[str | None, Query(max_length=500, description="path contains")] = None,
) -> AccessLogsResponse:
    """Requests to the dashboard, newest first, with the user and device behind each."""
    page = await queries.access_logs(ctx.db, hours, limit, cursor, user=user, path=path)
    return AccessLogsResponse(
        hours=hours,
        user=user,
        path=path,
        total=page.total,
        limit=limit,
        next_cursor=page.next_cursor,
        entries=[AccessLogEntry(**row) for row in page.rows],
    )


@router.get("/dashboard-usage", response_model=DashboardUsageResponse, responses=FORBIDDEN)
async def dashboard_usage(
    ctx: Context,
    _viewer: Reader,
    days: Annotated[int, Query(ge=1, le=366, description="window, days back from now")] = 7,
) -> DashboardUsageResponse:
    """Requests, users and devices per day, the most requested paths and each user's activity."""
    usage = await queries.dashboard_usage(ctx.db, days)
    totals = await ingestion_totals(ctx.db)
    return DashboardUsageResponse(
        days=days,
        per_day=[UsageDay(**row) for row in usage["days"]],
        top_paths=[PathCount(**row) for row in usage["top_paths"]],
        users=[UserActivity(**row) for row in usage["users"]],
        anonymous_requests=usage["anonymous_requests"],
        ingestion=IngestionInfo(**totals),
    )


@router.get("/uptime", response_model=UptimeResponse, responses=FORBIDDEN)
async def uptime(
    ctx: Context,
    _viewer: Reader,
    days: Annotated[int, Query(ge=1, le=366, description="window, days back from now")] = 7,
) -> UptimeResponse:
    """Per device: the share of snapshots it was online in, its traffic, first and last seen."""
    history = await queries.uptime(ctx.db, days)
    return UptimeResponse(
        days=days,
        snapshots=history["snapshots"],
        devices=[DeviceUptime(**row) for row in history["devices"]],
        users_per_day=[UsersDay(**row) for row in history["users_per_day"]],
    )


@router.get("/alerts", response_model=AlertsResponse, responses=FORBIDDEN)
async def alerts(ctx: Context, _viewer: Reader) -> AlertsResponse:
    """The tailnet alerts that hold now: the events of ops/prometheus/alerts.yml, named."""
    health = await tailnet_health(ctx)
    export_metrics(health, ctx.settings)
    settings = ctx.settings
    return AlertsResponse(
        alerts=[AlertOut.model_validate(alert) for alert in current_alerts(health, settings)],
        thresholds=AlertThresholds(
            new_device_hours=settings.analytics_alert_new_device_hours,
            tagged_offline_minutes=settings.analytics_alert_tagged_offline_minutes,
            key_expiry_days=settings.analytics_alert_key_expiry_days,
            access_log_stale_minutes=settings.analytics_alert_access_log_stale_minutes,
        ),
    )
