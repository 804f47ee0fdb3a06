"""Analytics when tailscaled's LocalAPI is down, slow or answers garbage: up, fast, and flagged stale.

The stand-in tailscaled serves the tailnet first, so the scheduler stores a snapshot; then it is switched
(through its mode file, while everything runs) to close connections unanswered, to answer after far
longer than the client's timeout, or to answer 200 with a body that is not JSON. Every analytics
endpoint must keep answering 200 within the LocalAPI timeout plus a little, the live ones with the last
snapshot flagged stale and its age, and the app must come back to live data once tailscaled does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.analytics.tailnet import LIVE_REUSE_SECONDS
from tests.bench.app_stack import AppStack, running_app
from tests.resilience.conftest import require_module
from tests.support.services import wait_until

LOCALAPI_TIMEOUT_S = 1.0
SLACK_S = 2.0
LIVE_ENDPOINTS = ["/analytics/devices", "/analytics/quota-status"]
STORED_ENDPOINTS = [
    "/analytics/access-logs?hours=24",
    "/analytics/dashboard-usage?days=7",
    "/analytics/uptime?days=7",
]


@pytest.fixture(scope="module")
def analytics_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppStack]:
    require_module("tests.standins.localapi", "the LocalAPI failure modes")
    workdir: Path = tmp_path_factory.mktemp("localapi-faults")
    env = {
        "CF_ANALYTICS_LOCALAPI_TIMEOUT_SECONDS": str(LOCALAPI_TIMEOUT_S),
        # Ask tailscaled on every request, so each request meets the fault (the slowest case).
        "CF_ANALYTICS_LOCALAPI_RETRY_AFTER_SECONDS": "0",
    }
    with running_app(workdir, env=env, with_scheduler=True, localapi_slow_seconds=60) as stack:
        wait_until(lambda: _snapshot_stored(stack), 30, "the first tailnet snapshot")
        yield stack


def _snapshot_stored(app: AppStack) -> bool:
    jobs = httpx.get(f"{app.url}/scheduler/jobs", timeout=5).json()["jobs"]
    snapshot = next(job for job in jobs if job["name"] == "snapshot-tailnet")
    return bool(snapshot["last_run"]) and snapshot["last_run"]["status"] == "ok"


def _get(app: AppStack, path: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = httpx.get(f"{app.url}{path}", timeout=30)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
    body: dict[str, Any] = response.json()
    return body, elapsed


def test_with_tailscaled_answering_devices_are_live(analytics_app: AppStack) -> None:
    analytics_app.set_localapi_mode("normal")
    body, _ = _get(analytics_app, "/analytics/devices")
    assert body["freshness"]["stale"] is False
    assert body["devices"], "the stand-in's tailnet has devices"


@pytest.mark.parametrize("mode", ["down", "slow", "garbage"])
def test_a_failing_tailscaled_leaves_analytics_up_fast_and_stale(analytics_app: AppStack, mode: str) -> None:
    live, _ = _get(analytics_app, "/analytics/devices")
    analytics_app.set_localapi_mode(mode)
    time.sleep(LIVE_REUSE_SECONDS + 0.5)  # a live status this recent is reused without asking tailscaled
    try:
        for path in LIVE_ENDPOINTS:
            body, elapsed = _get(analytics_app, path)
            assert elapsed < LOCALAPI_TIMEOUT_S + SLACK_S, f"{mode}: {path} took {elapsed:.1f} s"
            freshness = body["freshness"]
            assert freshness["stale"] is True, f"{mode}: {path} not flagged stale: {freshness}"
            assert freshness["source"] == "snapshot"
            assert freshness["age_seconds"] is not None and freshness["age_seconds"] >= 0
            assert freshness["error"], "a stale answer says why tailscaled could not be read"
        devices, _ = _get(analytics_app, "/analytics/devices")
        assert {d["node_id"] for d in devices["devices"]} == {d["node_id"] for d in live["devices"]}
        for path in STORED_ENDPOINTS:
            _, elapsed = _get(analytics_app, path)
            assert elapsed < LOCALAPI_TIMEOUT_S + SLACK_S, f"{mode}: {path} took {elapsed:.1f} s"
        assert httpx.get(f"{analytics_app.url}/health", timeout=5).status_code == 200
    finally:
        analytics_app.set_localapi_mode("normal")
    wait_until(
        lambda: _get(analytics_app, "/analytics/devices")[0]["freshness"]["stale"] is False,
        15,
        f"live devices again after {mode}",
    )
