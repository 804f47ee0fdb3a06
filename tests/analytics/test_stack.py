"""The whole chain as deployed: stand-in tailscaled <- socat (uid 10001) <- app -> nginx -> access log.

Requests reach nginx the way `tailscale serve` sends them (from 127.0.0.1, the tailnet client in
X-Forwarded-For, the user's login in Tailscale-User-Login); nginx writes the JSON access log the app's
scheduler ingests, the log is rotated while everything runs, and the app is restarted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.analytics.support import StandInTailscaled, app_process, nginx, socat_proxy
from tests.support.services import RunningService, wait_until

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.socat,
    pytest.mark.slow,
    pytest.mark.skipif(os.getuid() != 0, reason="running socat as uid 10001 needs root to switch uid"),
]

ADMIN = "marta@chocolate.example"
UNREACHABLE = "http://127.0.0.1:9"  # upstreams of other features: fail fast, never leave the machine


def app_env(data_dir: Path, localapi_url: str, access_log: Path) -> dict[str, str]:
    return {
        "CF_DATA_DIR": str(data_dir),
        "CF_LOG_FORMAT": "text",
        "CF_ANALYTICS_LOCALAPI_URL": localapi_url,
        "CF_ANALYTICS_ACCESS_LOG_PATH": str(access_log),
        "CF_ANALYTICS_ADMINS": json.dumps([ADMIN]),
        "CF_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
        "CF_ANALYTICS_SNAPSHOT_INTERVAL_SECONDS": "2",
        "CF_ANALYTICS_INGEST_INTERVAL_SECONDS": "1",
        "CF_REE_BASE_URL": UNREACHABLE,
        "CF_OPEN_METEO_BASE_URL": UNREACHABLE,
        "CF_AEMET_BASE_URL": UNREACHABLE,
        "ANTHROPIC_BASE_URL": UNREACHABLE,
    }


def via_serve(base: str, path: str, tailnet_ip: str, login: str | None = None) -> int:
    """A request as `tailscale serve` forwards it to nginx."""
    headers = {"X-Forwarded-For": tailnet_ip}
    if login:
        headers["Tailscale-User-Login"] = login
        headers["Tailscale-User-Name"] = "Marta Ruiz"
    return httpx.get(f"{base}{path}", headers=headers, timeout=10).status_code


def admin_get(app_url: str, path: str) -> Any:
    response = httpx.get(f"{app_url}{path}", headers={"Tailscale-User-Login": ADMIN}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def logged_lines(log_dir: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in log_dir.glob("access.log*"))


def ingested(app_url: str) -> int:
    return int(admin_get(app_url, "/analytics/dashboard-usage?days=1")["ingestion"]["lines"])


def wait_for(check: Callable[[], bool], what: str, app: RunningService, web_logs: Path) -> None:
    """wait_until, and on time-out the app's log and the access logs' line counts to see why."""
    try:
        wait_until(check, 30, what)
    except TimeoutError as exc:
        counts = {p.name: len(p.read_bytes().splitlines()) for p in web_logs.glob("access.log*")}
        raise AssertionError(f"{exc}; access logs {counts}; app log:\n{app.log()[-4000:]}") from None


def test_the_endpoints_show_the_tailnet_and_its_use_and_survive_a_restart(
    tailscaled: StandInTailscaled, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    web_logs = tmp_path / "web-logs"
    web_logs.mkdir()
    access_log = web_logs / "access.log"
    data = tmp_path / "data"
    with socat_proxy(tailscaled.socket_path, logs) as proxy:
        env = app_env(data, proxy.url, access_log)
        with app_process(env, logs) as app, nginx(tmp_path / "nginx", app.port, access_log, logs) as web:
            statuses = [
                via_serve(web.url, "/health", "100.101.2.20", ADMIN),
                via_serve(web.url, "/analytics/devices", "100.101.2.20", ADMIN),
                via_serve(web.url, "/analytics/devices", "100.101.3.30"),  # ana: no admin
                via_serve(web.url, "/health", "100.101.3.30"),
            ]
            assert statuses == [200, 200, 403, 200]
            wait_for(lambda: ingested(app.url) == 4, "ingestion of the first requests", app, web_logs)

            rotated = web_logs / "access.log.1"
            access_log.rename(rotated)
            via_serve(web.url, "/health", "100.101.3.30")  # still written to the renamed file
            web.reopen_logs()
            wait_until(access_log.exists, 10, "nginx reopening its access log")
            via_serve(web.url, "/api/prices", "100.101.2.20", ADMIN)
            via_serve(web.url, "/api/prices", "100.101.3.30")
            wait_for(
                lambda: ingested(app.url) == logged_lines(web_logs) == 7,
                "ingestion after rotation",
                app,
                web_logs,
            )

            devices = admin_get(app.url, "/analytics/devices")
            quota = admin_get(app.url, "/analytics/quota-status")
            access = admin_get(app.url, "/analytics/access-logs?hours=1")
            usage = admin_get(app.url, "/analytics/dashboard-usage?days=1")
            wait_for(
                lambda: admin_get(app.url, "/analytics/uptime?days=1")["snapshots"] >= 2,
                "snapshots",
                app,
                web_logs,
            )
            uptime = admin_get(app.url, "/analytics/uptime?days=1")

        assert devices["counts"] == {
            "own": 2,
            "tagged": 3,
            "infrastructure": 0,
            "shared-in": 1,
            "other-user": 2,
        }
        assert quota["used"] == 3 and quota["plan_limit"] == 6, "marta, ana and luis: the owner takes a seat"
        users = {
            (e["path"], e["user_login"], e["identity_source"], e["device_name"]) for e in access["entries"]
        }
        assert ("/analytics/devices", ADMIN, "header", "marta-laptop") in users
        assert ("/analytics/devices", "ana@chocolate.example", "whois", "ana-thinkpad") in users
        assert access["total"] == 7
        assert usage["per_day"][-1] == {
            "date": usage["per_day"][-1]["date"],
            "requests": 7,
            "users": 2,
            "devices": 2,
        }
        assert {u["login"] for u in usage["users"]} == {ADMIN, "ana@chocolate.example"}
        assert {d["host_name"] for d in uptime["devices"]} >= {"marta-laptop", "ana-thinkpad", "git"}

        tailscaled.set_mode("down")
        with app_process(env, logs, name="app-restarted") as app:
            wait_until(lambda: admin_get(app.url, "/scheduler/jobs") is not None, 10, "restarted app")
            after_devices = admin_get(app.url, "/analytics/devices")
            after_access = admin_get(app.url, "/analytics/access-logs?hours=1")
            after_usage = admin_get(app.url, "/analytics/dashboard-usage?days=1")
            after_uptime = admin_get(app.url, "/analytics/uptime?days=1")

    assert after_devices["freshness"]["stale"] is True
    assert after_devices["counts"] == devices["counts"]
    assert after_access["total"] == 7, "nothing lost and nothing counted twice"
    assert after_usage["per_day"] == usage["per_day"] and after_usage["users"] == usage["users"]
    assert after_uptime["snapshots"] >= uptime["snapshots"]
    assert {d["host_name"] for d in after_uptime["devices"]} == {d["host_name"] for d in uptime["devices"]}
