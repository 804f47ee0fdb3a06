"""The analytics' periodic jobs; each takes the AppContext and returns a line for the run's record.

Registered in app/scheduler.py: `snapshot-tailnet` (CF_ANALYTICS_SNAPSHOT_INTERVAL_SECONDS, 15 min),
`ingest-access-log` (CF_ANALYTICS_INGEST_INTERVAL_SECONDS, 1 min), `log-tailnet-status`
(CF_ANALYTICS_STATUS_LOG_INTERVAL_SECONDS, hourly) and `prune-analytics` (daily).
"""

from __future__ import annotations

import logging

from app import metrics
from app.analytics.accesslog import AccessLogIngester
from app.analytics.classify import classify, quota, tailnet_owner
from app.analytics.retention import prune_history
from app.analytics.service import current_tailnet, seat_rule
from app.analytics.snapshots import first_seen_in, status_line, store_snapshot
from app.context import AppContext
from app.db import utc_now

log = logging.getLogger("app.analytics")


async def snapshot_tailnet_job(ctx: AppContext) -> str:
    """Store a snapshot of the tailnet; raises `LocalAPIError` when tailscaled cannot be read."""
    settings = ctx.settings
    status = await ctx.tailnet.status(fresh=True)
    owner = tailnet_owner(status, settings.analytics_tailnet_owner, settings.analytics_admins)
    devices = classify(status, owner)
    seats = quota(devices, owner, seat_rule(settings))
    tailnet = status.current_tailnet.name if status.current_tailnet else ""
    new_devices, new_users = await first_seen_in(ctx.db, devices)
    metrics.TAILNET_DEVICE_JOINS.inc(new_devices)
    metrics.TAILNET_USER_JOINS.inc(new_users)
    snapshot_id = await store_snapshot(ctx.db, utc_now(), tailnet, owner, devices, seats)
    return f"snapshot {snapshot_id}: {status_line(devices, seats)}"


async def ingest_access_log_job(ctx: AppContext) -> str:
    """Store the access log's new requests (CF_ANALYTICS_ACCESS_LOG_PATH)."""
    settings = ctx.settings
    path = settings.analytics_access_log_path
    if path is None:
        return "no access log configured (CF_ANALYTICS_ACCESS_LOG_PATH)"
    ingester = AccessLogIngester(
        ctx.db, path, resolver=ctx.tailnet, batch_lines=settings.analytics_access_log_batch_lines
    )
    result = await ingester.run()
    if not result.files:
        return f"{path} does not exist yet"
    return f"{result.lines} requests stored, {result.malformed} malformed lines skipped"


async def log_tailnet_status_job(ctx: AppContext) -> str:
    """The hourly status line in the app's log."""
    view = await current_tailnet(ctx)
    if view.source == "none":
        line = f"tailnet: no status and no snapshot yet ({view.error})"
        log.warning(line)
        return line
    line = status_line(view.devices, view.quota(ctx.settings))
    if view.stale:
        line += f"; from the snapshot of {view.taken_at} ({view.error})"
        log.warning(line)
    else:
        log.info(line)
    return line


async def prune_analytics_job(ctx: AppContext) -> str:
    """Delete requests and snapshots older than CF_ANALYTICS_RETENTION_DAYS."""
    days = ctx.settings.analytics_retention_days
    pruned = await prune_history(ctx.db, days)
    return f"{pruned.requests} requests and {pruned.snapshots} snapshots older than {days} days deleted"
