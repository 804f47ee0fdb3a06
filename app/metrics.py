"""Prometheus metrics of the app, served at GET /metrics.

Metric objects live in the process-wide default registry, created once at import. Names start with `cf_`.
"""

from __future__ import annotations

import time

from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "cf_http_requests_total",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "cf_http_request_duration_seconds", "time to answer an HTTP request", ["method", "route"]
)
JOB_RUNS = Counter(
    "cf_job_runs_total", "scheduled job runs by outcome (ok, error, abandoned)", ["job", "outcome"]
)
JOB_FAILURES = Counter("cf_job_failures_total", "scheduled job runs that raised or were abandoned", ["job"])
JOB_SKIPPED = Counter(
    "cf_job_skipped_total", "job runs skipped because another process holds the scheduler lease", ["job"]
)
JOB_DURATION = Histogram("cf_job_duration_seconds", "time a scheduled job ran", ["job"])
SCHEDULER_LEASE_HELD = Gauge("cf_scheduler_lease_held", "1 while this process runs the scheduled jobs")
INGESTED_ROWS = Counter("cf_ingestion_rows_total", "rows stored by ingestion, per source", ["source"])
INGESTION_REJECTED = Counter(
    "cf_ingestion_rejected_total",
    "upstream responses refused (malformed, partial, HTTP error, timeout): nothing was stored",
    ["source", "reason"],
)
INGESTION_LAG = Gauge(
    "cf_ingestion_lag_seconds",
    "seconds since a source last delivered data that was stored",
    ["dataset", "source"],
)
INGESTION_LAST_SUCCESS = Gauge(
    "cf_ingestion_last_success_timestamp_seconds", "unix time of the last stored delivery", ["source"]
)


# Tailnet alerts (app/analytics/alerts.py; rules in ops/prometheus/alerts.yml). Refreshed on scrape.
# Labels are opaque node ids only: /metrics is not limited to admins.
TAILNET_LOCALAPI_UP = Gauge("cf_tailnet_localapi_up", "1 when the LocalAPI proxy and tailscaled answer")
TAILNET_SEATS_USED = Gauge("cf_tailnet_seats_used", "seats of the plan used (NaN when unknown)")
TAILNET_SEATS_LIMIT = Gauge("cf_tailnet_seats_limit", "seats the plan allows (CF_ANALYTICS_PLAN_USER_LIMIT)")
TAILNET_SEATS_WARNING_AT = Gauge("cf_tailnet_seats_warning_at", "seats from which the quota is `warning`")
TAILNET_SEATS_ALERT_AT = Gauge("cf_tailnet_seats_alert_at", "seats from which the quota is `alert`")
TAILNET_DEVICES = Gauge("cf_tailnet_devices", "devices of the tailnet by class", ["kind"])
TAILNET_NEW_DEVICES = Gauge(
    "cf_tailnet_new_devices", "devices first seen within CF_ANALYTICS_ALERT_NEW_DEVICE_HOURS"
)
TAILNET_NEW_USERS = Gauge(
    "cf_tailnet_new_users", "users first seen within CF_ANALYTICS_ALERT_NEW_DEVICE_HOURS"
)
TAILNET_DEVICE_JOINS = Counter("cf_tailnet_device_joins_total", "devices a snapshot found for the first time")
TAILNET_USER_JOINS = Counter("cf_tailnet_user_joins_total", "users a snapshot found for the first time")
TAILNET_TAGGED_OFFLINE = Gauge(
    "cf_tailnet_tagged_node_offline_seconds", "seconds an offline tagged node was last seen ago", ["node_id"]
)
TAILNET_TAGGED_OFFLINE_ALERT = Gauge(
    "cf_tailnet_tagged_node_offline_alert_seconds", "CF_ANALYTICS_ALERT_TAGGED_OFFLINE_MINUTES, in seconds"
)
TAILNET_KEY_EXPIRY = Gauge(
    "cf_tailnet_node_key_expiry_seconds", "seconds until a node key expires (negative: expired)", ["node_id"]
)
TAILNET_KEY_EXPIRY_ALERT = Gauge(
    "cf_tailnet_node_key_expiry_alert_seconds", "CF_ANALYTICS_ALERT_KEY_EXPIRY_DAYS, in seconds"
)
ACCESS_LOG_AGE = Gauge(
    "cf_access_log_newest_line_age_seconds", "age of the newest stored access-log line (NaN: none, or off)"
)
ACCESS_LOG_STALE_ALERT = Gauge(
    "cf_access_log_stale_alert_seconds", "CF_ANALYTICS_ALERT_ACCESS_LOG_STALE_MINUTES, in seconds"
)


class RequestMetrics:
    """ASGI middleware: count and time every HTTP request by its route template (bounded label values).

    Pure ASGI, so streamed answers (server-sent events) pass through untouched; the duration runs until
    the response body is complete.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            path = getattr(scope.get("route"), "path", None)
            route = path if isinstance(path, str) else "unmatched"
            method = str(scope.get("method", ""))
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
