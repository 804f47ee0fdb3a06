"""The analytics endpoints, served in-process over ASGI with the stand-in tailscaled on its socket.

The ASGI transport's `client` is the TCP peer the app sees, so the tests choose who connects: the
trusted web container, a tailnet device directly, or this machine.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.analytics.jobs import ingest_access_log_job, prune_analytics_job, snapshot_tailnet_job
from app.analytics.tables import snapshot_devices, tailnet_snapshots
from app.bi.tariff import SPAIN as MADRID
from app.context import AppContext
from app.main import create_app
from app.settings import Settings
from tests.analytics.support import StandInTailscaled

WEB = "10.9.0.2"
ADMIN = "marta@chocolate.example"
ENDPOINTS = [
    "/analytics/devices",
    "/analytics/quota-status",
    "/analytics/access-logs?hours=24",
    "/analytics/dashboard-usage?days=7",
    "/analytics/uptime?days=7",
    "/analytics/alerts",
]


def settings_for(
    tmp_path: Path, tailscaled: StandInTailscaled, database_url: str | None = None, **overrides: Any
) -> Settings:
    """The app's settings for a test: SQLite under tmp_path unless `database_url` names a database."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url_override": database_url,
        "scheduler_enabled": False,
        "log_format": "text",
        "analytics_localapi_url": f"unix://{tailscaled.socket_path}",
        "analytics_localapi_timeout_seconds": 0.5,
        "analytics_admins": [ADMIN],
        "trusted_proxies": [f"{WEB}/32"],
        "analytics_access_log_path": tmp_path / "access.log",
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI, peer: str = WEB, login: str | None = ADMIN) -> httpx.AsyncClient:
    headers = {"Tailscale-User-Login": login} if login else {}
    transport = httpx.ASGITransport(app=app, client=(peer, 51000))
    return httpx.AsyncClient(transport=transport, base_url="http://app", headers=headers)


def ctx(app: FastAPI) -> AppContext:
    context: AppContext = app.state.ctx
    return context


def edit_status(tailscaled: StandInTailscaled, change: Callable[[dict[str, Any]], None]) -> None:
    status = json.loads(tailscaled.status_path.read_text())
    change(status)
    tailscaled.status_path.write_text(json.dumps(status))


def peer_named(status: dict[str, Any], host: str) -> dict[str, Any]:
    return next(p for p in status["Peer"].values() if p["HostName"] == host)


def log_line(
    path: str, login: str = "", client_addr: str = "100.101.3.30", ago: timedelta = timedelta()
) -> str:
    when = (datetime.now(UTC) - ago).isoformat(timespec="seconds")
    entry = {
        "time": when,
        "client": client_addr,
        "method": "GET",
        "path": path,
        "status": 200,
        "bytes": 100,
        "duration": 0.005,
        "user_agent": "test",
        "user_login": login,
        "user_name": "",
    }
    return json.dumps(entry) + "\n"


@pytest.mark.parametrize(
    ("peer", "login", "headers"),
    [
        (WEB, "ana@chocolate.example", {}),
        (WEB, None, {}),
        ("100.101.3.30", ADMIN, {}),
        ("100.101.3.30", ADMIN, {"X-Forwarded-For": WEB, "X-Real-IP": WEB}),
        ("127.0.0.1", ADMIN, {}),
    ],
    ids=["not-an-admin", "no-tailscale-user", "header-from-untrusted-peer", "forwarded-for-forged", "local"],
)
async def test_identities_are_shown_only_to_admins_vouched_for_by_the_web_container(
    tmp_path: Path, tailscaled: StandInTailscaled, peer: str, login: str | None, headers: dict[str, str]
) -> None:
    async with running(settings_for(tmp_path, tailscaled)) as app, client(app, peer, login) as http:
        for endpoint in ENDPOINTS:
            response = await http.get(endpoint, headers=headers)
            assert response.status_code == 403, endpoint
            assert "CF_ANALYTICS" in response.json()["detail"]


async def test_an_admin_through_the_web_container_reads_every_endpoint(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    async with running(settings_for(tmp_path, tailscaled)) as app, client(app) as http:
        for endpoint in ENDPOINTS:
            assert (await http.get(endpoint)).status_code == 200, endpoint


async def test_local_access_is_a_setting_for_machines_without_a_tailnet(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    settings = settings_for(tmp_path, tailscaled, analytics_allow_local=True)
    async with running(settings) as app:
        async with client(app, "127.0.0.1", login=None) as local:
            assert (await local.get("/analytics/devices")).status_code == 200
        async with client(app, "100.101.3.30", login=None) as remote:
            assert (await remote.get("/analytics/devices")).status_code == 403


async def test_devices_of_every_kind_and_the_quota_are_shown_live(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    async with (
        running(
            settings_for(tmp_path, tailscaled, analytics_plan_user_limit=3, analytics_quota_warning_ratio=0.6)
        ) as app,
        client(app) as http,
    ):
        devices = (await http.get("/analytics/devices")).json()
        quota = (await http.get("/analytics/quota-status")).json()
    assert devices["freshness"] == {
        "source": "live",
        "stale": False,
        "age_seconds": 0.0,
        "taken_at": devices["freshness"]["taken_at"],
        "error": None,
    }
    assert devices["counts"] == {"own": 2, "tagged": 3, "infrastructure": 0, "shared-in": 1, "other-user": 2}
    assert devices["owner"] == ADMIN, "this node is tagged: the admin who owns devices here is the owner"
    hostile = next(d for d in devices["devices"] if d["user_login"] == "luis@chocolate.example")
    assert hostile["host_name"] == "<img src=x onerror=alert(1)>", "names are data, returned verbatim as JSON"
    assert (quota["used"], quota["plan_limit"], quota["remaining"]) == (3, 3, 0)
    assert quota["users"] == ["ana@chocolate.example", "luis@chocolate.example", ADMIN]
    assert quota["level"] == "alert" and quota["owner_counted"] is True
    assert quota["lower_bound"] is True, "users whose devices this node cannot see may exist"
    prod = next(d for d in devices["devices"] if d["is_self"])
    assert prod["version"] == "1.76.6-t1d2c3b4a5-g0123456789ab"
    laptop = next(d for d in devices["devices"] if d["host_name"] == "marta-laptop")
    assert laptop["key_expiry"] == "2027-03-01T08:10:00Z" and laptop["subnet_routes"] == []


@pytest.mark.parametrize("mode", ["down", "slow", "garbage"])
async def test_a_failing_sidecar_gives_the_last_snapshot_flagged_stale_quickly(
    tmp_path: Path, tailscaled: StandInTailscaled, mode: str
) -> None:
    async with running(settings_for(tmp_path, tailscaled)) as app, client(app) as http:
        await snapshot_tailnet_job(ctx(app))
        tailscaled.set_mode(mode)
        started = time.monotonic()
        first = await http.get("/analytics/devices")
        elapsed = time.monotonic() - started
        asked = len(tailscaled.requests())
        again = await http.get("/analytics/quota-status")
    assert first.status_code == again.status_code == 200
    body = first.json()
    assert body["freshness"]["stale"] is True and body["freshness"]["source"] == "snapshot"
    assert body["freshness"]["age_seconds"] is not None and body["freshness"]["error"]
    assert body["counts"] == {"own": 2, "tagged": 3, "infrastructure": 0, "shared-in": 1, "other-user": 2}
    assert again.json()["used"] == 3 and again.json()["freshness"]["stale"] is True
    assert again.json()["lower_bound"] is True, "users may have joined since the snapshot"
    assert elapsed < 4.0, "the stand-in answers after 5 s in slow mode; the app must not wait for it"
    assert len(tailscaled.requests()) == asked, "after a failure the LocalAPI is left alone for a while"


async def test_before_any_snapshot_a_failing_sidecar_gives_an_empty_answer_not_an_error(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    tailscaled.set_mode("garbage")
    async with running(settings_for(tmp_path, tailscaled)) as app, client(app) as http:
        response = await http.get("/analytics/devices")
    assert response.status_code == 200
    assert response.json()["freshness"]["source"] == "none" and response.json()["devices"] == []


async def test_with_no_tailnet_data_the_quota_is_unknown_not_ok(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    tailscaled.set_mode("down")
    async with running(settings_for(tmp_path, tailscaled)) as app, client(app) as http:
        quota = (await http.get("/analytics/quota-status")).json()
    assert quota["freshness"]["source"] == "none"
    assert (quota["level"], quota["used"], quota["remaining"], quota["users"]) == ("unknown", None, None, [])
    assert quota["lower_bound"] is False and quota["over_limit"] is False


async def test_an_untagged_router_keeps_its_seat_free_and_shows_its_routes_after_a_snapshot(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    def ana_routes_the_office(status: dict[str, Any]) -> None:
        ana = peer_named(status, "ana-thinkpad")
        ana["AllowedIPs"] = [*ana["AllowedIPs"], "192.168.50.0/24", "0.0.0.0/0", "::/0"]
        ana["PrimaryRoutes"] = ["192.168.50.0/24"]
        ana["ExitNodeOption"] = True

    edit_status(tailscaled, ana_routes_the_office)
    async with running(settings_for(tmp_path, tailscaled)) as app, client(app) as http:
        await snapshot_tailnet_job(ctx(app))
        tailscaled.set_mode("down")
        devices = (await http.get("/analytics/devices")).json()
        quota = (await http.get("/analytics/quota-status")).json()
    assert devices["freshness"]["source"] == "snapshot"
    router = next(d for d in devices["devices"] if d["host_name"] == "ana-thinkpad")
    assert (router["kind"], router["subnet_routes"], router["exit_node"]) == (
        "infrastructure",
        ["192.168.50.0/24"],
        True,
    )
    assert "ana@chocolate.example" not in quota["users"] and quota["used"] == 2


async def test_uptime_traffic_and_users_over_time_come_from_the_snapshots(
    tmp_path: Path, tailscaled: StandInTailscaled, database_url: str
) -> None:
    async with running(settings_for(tmp_path, tailscaled, database_url)) as app, client(app) as http:
        await snapshot_tailnet_job(ctx(app))

        def ana_sends(status: dict[str, Any]) -> None:
            ana = peer_named(status, "ana-thinkpad")
            ana["RxBytes"] += 1000
            ana["Online"] = False

        edit_status(tailscaled, ana_sends)
        await snapshot_tailnet_job(ctx(app))

        def tailscaled_restarted(status: dict[str, Any]) -> None:
            ana = peer_named(status, "ana-thinkpad")
            ana["RxBytes"] = 300
            ana["Online"] = True

        edit_status(tailscaled, tailscaled_restarted)
        await snapshot_tailnet_job(ctx(app))
        history = (await http.get("/analytics/uptime?days=1")).json()
    assert history["snapshots"] == 3
    devices = {d["host_name"]: d for d in history["devices"]}
    ana = devices["ana-thinkpad"]
    assert (ana["samples"], ana["online_samples"], ana["uptime_pct"]) == (3, 2, 66.7)
    assert ana["rx_bytes"] == 1000 + 300, "growth, then the counter after its reset"
    assert devices["marta-phone"]["uptime_pct"] == 0.0
    assert devices["git"]["kind"] == "tagged" and devices["git"]["uptime_pct"] == 100.0
    today = history["users_per_day"][-1]
    assert today["users"] == 2, "marta (laptop) and ana were online; luis never was"


async def test_users_per_day_date_a_late_evening_snapshot_alike_on_every_backend(
    tmp_path: Path, tailscaled: StandInTailscaled, database_url: str
) -> None:
    """23:30 UTC is already the next day in Madrid, the test server's own TimeZone: the day must not move."""
    late = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), dt_time(23, 30), UTC)
    async with running(settings_for(tmp_path, tailscaled, database_url)) as app, client(app) as http:
        await snapshot_tailnet_job(ctx(app))
        async with ctx(app).db.begin() as conn:
            await conn.execute(tailnet_snapshots.update().values(taken_at=late))
            await conn.execute(snapshot_devices.update().values(taken_at=late))
        history = (await http.get("/analytics/uptime?days=3")).json()
    assert [day["date"] for day in history["users_per_day"]] == [late.date().isoformat()]


async def test_access_logs_are_paginated_and_bounded(
    tmp_path: Path, tailscaled: StandInTailscaled, database_url: str
) -> None:
    settings = settings_for(tmp_path, tailscaled, database_url)
    lines = [log_line(f"/page/{i}", login=ADMIN) for i in range(25)] + [
        log_line("/old", ago=timedelta(hours=30))
    ]
    (tmp_path / "access.log").write_text("".join(lines))
    async with running(settings) as app, client(app) as http:
        await ingest_access_log_job(ctx(app))
        seen: list[str] = []
        cursor: int | None = None
        for _ in range(5):
            params = {"hours": 24, "limit": 10, **({"cursor": cursor} if cursor else {})}
            page = (await http.get("/analytics/access-logs", params=params)).json()
            assert page["total"] == 25
            seen += [entry["path"] for entry in page["entries"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        too_wide = await http.get("/analytics/access-logs", params={"hours": 10_000})
        too_many = await http.get("/analytics/access-logs", params={"limit": 100_000})
    assert seen == [f"/page/{i}" for i in reversed(range(25))]
    assert too_wide.status_code == too_many.status_code == 422


async def test_dashboard_usage_days_are_madrid_days(
    tmp_path: Path, tailscaled: StandInTailscaled, database_url: str
) -> None:
    # 00:30 and 23:30 of one Madrid day: 00:30 Madrid is still the day before in UTC.
    day = datetime.now(MADRID).date() - timedelta(days=2)
    now = datetime.now(UTC)
    early, late = (datetime.combine(day, t, MADRID) for t in (dt_time(0, 30), dt_time(23, 30)))
    lines = [log_line("/dashboard", login=ADMIN, ago=now - moment) for moment in (early, late)]
    (tmp_path / "access.log").write_text("".join(lines))
    async with running(settings_for(tmp_path, tailscaled, database_url)) as app, client(app) as http:
        await ingest_access_log_job(ctx(app))
        usage = (await http.get("/analytics/dashboard-usage?days=7")).json()
    assert usage["per_day"] == [{"date": day.isoformat(), "requests": 2, "users": 1, "devices": 1}]


async def test_dashboard_usage_counts_requests_users_and_devices_per_day(
    tmp_path: Path, tailscaled: StandInTailscaled, database_url: str
) -> None:
    lines = [
        log_line("/", login=ADMIN, client_addr="100.101.2.20"),
        log_line("/api/prices", login=ADMIN, client_addr="100.101.2.20"),
        log_line("/api/prices", client_addr="100.101.3.30"),
        log_line("/api/prices", client_addr="100.101.3.30", ago=timedelta(days=1)),
        "garbage\n",
    ]
    (tmp_path / "access.log").write_text("".join(lines))
    async with running(settings_for(tmp_path, tailscaled, database_url)) as app, client(app) as http:
        await ingest_access_log_job(ctx(app))
        usage = (await http.get("/analytics/dashboard-usage?days=7")).json()
    assert [day["requests"] for day in usage["per_day"]] == [1, 3]
    assert usage["per_day"][-1]["users"] == 2 and usage["per_day"][-1]["devices"] == 2
    assert usage["top_paths"][0] == {"path": "/api/prices", "requests": 3}
    users = {u["login"]: u for u in usage["users"]}
    assert users["ana@chocolate.example"]["requests"] == 2, "ana's user came from whois"
    assert users[ADMIN]["requests"] == 2 and users[ADMIN]["devices"] == 1
    assert usage["ingestion"]["malformed"] == 1 and usage["ingestion"]["lines"] == 4


async def test_access_logs_filter_by_user_and_path_as_the_vpn_page_asks(
    tmp_path: Path, tailscaled: StandInTailscaled, database_url: str
) -> None:
    lines = [
        log_line("/api/prices", login=ADMIN, client_addr="100.101.2.20"),
        log_line("/api/weather", login=ADMIN, client_addr="100.101.2.20"),
        log_line("/api/prices", client_addr="100.101.3.30"),
        log_line("/100%_done", client_addr="100.101.3.30"),
    ]
    (tmp_path / "access.log").write_text("".join(lines))
    async with running(settings_for(tmp_path, tailscaled, database_url)) as app, client(app) as http:
        await ingest_access_log_job(ctx(app))
        by_user = (await http.get("/analytics/access-logs", params={"user": "MARTA"})).json()
        by_name = (await http.get("/analytics/access-logs", params={"user": "Gómez"})).json()
        by_path = (await http.get("/analytics/access-logs", params={"path": "prices"})).json()
        literal = (await http.get("/analytics/access-logs", params={"path": "%_"})).json()
    assert (by_user["user"], by_user["total"]) == ("MARTA", 2)
    assert {e["user_login"] for e in by_user["entries"]} == {ADMIN}
    assert by_name["total"] == 2, "ana's name came from whois"
    assert by_path["path"] == "prices" and [e["path"] for e in by_path["entries"]] == ["/api/prices"] * 2
    assert [e["path"] for e in literal["entries"]] == ["/100%_done"], "% and _ are matched literally"


async def test_history_older_than_the_retention_is_deleted_and_newer_kept(
    tmp_path: Path, tailscaled: StandInTailscaled, database_url: str
) -> None:
    lines = [log_line("/recent"), log_line("/ancient", ago=timedelta(days=40))]
    (tmp_path / "access.log").write_text("".join(lines))
    async with running(settings_for(tmp_path, tailscaled, database_url, analytics_retention_days=30)) as app:
        await ingest_access_log_job(ctx(app))
        await snapshot_tailnet_job(ctx(app))
        detail = await prune_analytics_job(ctx(app))
        async with client(app) as http:
            access = (await http.get("/analytics/access-logs", params={"hours": 744})).json()
            uptime = (await http.get("/analytics/uptime?days=1")).json()
    assert detail.startswith("1 requests and 0 snapshots")
    assert [e["path"] for e in access["entries"]] == ["/recent"]
    assert uptime["snapshots"] == 1


async def test_scheduler_jobs_show_tailnet_figures_to_admins_only(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    dead = "http://127.0.0.1:9"  # the public data sources: a closed local port, no outside traffic
    settings = settings_for(
        tmp_path,
        tailscaled,
        scheduler_enabled=True,
        ree_base_url=dead,
        open_meteo_base_url=dead,
        analytics_status_log_interval_seconds=1,
    )

    async def jobs(http: httpx.AsyncClient) -> dict[str, Any]:
        body = (await http.get("/scheduler/jobs")).json()
        return {job["name"]: job for job in body["jobs"]}

    async with running(settings) as app, client(app) as admin:
        deadline = time.monotonic() + 20
        ran = ("snapshot-tailnet", "log-tailnet-status")
        while time.monotonic() < deadline:
            seen = await jobs(admin)
            if all((seen[name]["last_run"] or {}).get("status") == "ok" for name in ran):
                break
            await asyncio.sleep(0.2)
        shown = await jobs(admin)
        assert "users" in shown["snapshot-tailnet"]["last_run"]["detail"], shown["snapshot-tailnet"]
        assert shown["snapshot-tailnet"]["last_run"]["detail_hidden"] is False

        viewers = {
            "not an admin": client(app, WEB, "ana@chocolate.example"),
            "tagged device": client(app, WEB, None),
            "forged login from a tailnet device": client(app, "100.101.3.30", ADMIN),
        }
        for who, viewer in viewers.items():
            async with viewer as http:
                hidden = await jobs(http)
            for name in ("snapshot-tailnet", "log-tailnet-status", "ingest-access-log"):
                run = hidden[name]["last_run"]
                assert run is not None and run["detail"] is None and run["detail_hidden"] is True, (who, name)
            assert hidden["ingest-prices"]["last_run"]["detail_hidden"] is False, "other jobs stay visible"
            assert hidden["ingest-prices"]["last_error"]["detail"], "and so do their errors"
