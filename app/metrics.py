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
