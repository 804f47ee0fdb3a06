"""The processes behind the browser tests: the app under uvicorn, the stand-in Claude and LocalAPI servers,
the sample BI data (also around both 2026 DST changes) and an nginx-format access log (with a hostile
request path) for the app to ingest."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.support.services import (
    RunningService,
    free_port,
    http_answers,
    python_argv,
    service,
    wait_until,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
TAILSCALE_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "tailscale"
#: How the stand-in Claude server starts every answer (tests/standins/claude.py).
ANSWER_MARKER = "According to the factory data:"

#: Logins of tests/fixtures/tailscale/status.json: marta owns the tailnet and is its admin; ana and
#: luis are other users (luis's phone has a hostile host name).
ADMIN_LOGIN = "marta@chocolate.example"
GUEST_LOGIN = "ana@chocolate.example"
#: The user with most requests in the access log: enough for more than one page.
BUSY_USER = "luis@chocolate.example"
HOSTILE_PATH = "/<img src=x onerror=alert(1)>"
HOSTILE_USER_AGENT = "<script>window.__pwned = 1</script>"
#: A device name in the LocalAPI fixture that would run script if it were parsed as HTML.
HOSTILE_HOSTNAME = "<img src=x onerror=alert(1)>"


#: A 5,000-character host name, login and request path for the layout tests (stack `long_names`).
LONG_HOSTNAME = "ana-" + "x" * 4996
LONG_LOGIN = "ana." + "y" * 4978 + "@chocolate.example"
LONG_PATH = "/dashboard/" + "z" * 4989
#: A host name with a right-to-left override: displayed naively, "factura\u202egnp.exe" reads
#: "facturaexe.png".
RTL_HOSTNAME = "factura\u202egnp.exe"
#: Madrid days whose length changes: 23 hours (CET -> CEST) and 25 hours (CEST -> CET).
DST_DAYS = ("2026-03-29", "2026-10-25")
#: Sample data around each DST day (stored besides the 30 days up to now).
LOAD_DST_SAMPLE = """
import asyncio
from datetime import datetime, timezone
from app.bi.sample_data import load_sample_data
from app.db import Database
from app.settings import Settings

async def main() -> None:
    settings = Settings()
    db = Database(settings.database_url, settings.db_busy_timeout_ms)
    try:
        for day in ("2026-03-30", "2026-10-26"):
            now = datetime.fromisoformat(day + "T12:00:00").replace(tzinfo=timezone.utc)
            await load_sample_data(db, days=2, now=now)
    finally:
        await db.dispose()

asyncio.run(main())
"""


#: Tailscale addresses of a device of each user in the fixture (whois finds the device by them).
DEVICE_ADDRESSES = {
    ADMIN_LOGIN: "100.101.2.20",
    BUSY_USER: "100.101.3.31",
    GUEST_LOGIN: "100.101.3.30",
}


@dataclass
class Stack:
    app: RunningService
    data_dir: Path
    access_log: Path
    claude_answer_marker: str
    claude_url: str

    @property
    def url(self) -> str:
        return self.app.url


def long_name_fixtures(target: Path) -> Path:
    """A copy of tests/fixtures/tailscale whose status has a 5,000-character host name and login and a
    host name with a right-to-left override."""
    status = json.loads((TAILSCALE_FIXTURES / "status.json").read_text())
    for peer in status["Peer"].values():
        if peer["HostName"] == "ana-thinkpad":
            peer["HostName"] = LONG_HOSTNAME
        elif peer["HostName"] == "auditor-mbp":
            peer["HostName"] = RTL_HOSTNAME
    for user in status["User"].values():
        if user["LoginName"] == GUEST_LOGIN:
            user["LoginName"] = LONG_LOGIN
    target.mkdir(parents=True, exist_ok=True)
    (target / "status.json").write_text(json.dumps(status))
    return target


def access_log_lines(now: datetime, long_names: bool = False) -> list[str]:
    """Lines in the web container's `cf_json` log format (sidecar/nginx.conf.template), newest last."""

    def line(minutes_ago: int, path: str, login: str, status: int = 200, agent: str = "Mozilla/5.0") -> str:
        ts = (now - timedelta(minutes=minutes_ago)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        return json.dumps(
            {
                "time": ts,
                "client": DEVICE_ADDRESSES.get(login, "100.101.3.30"),
                "method": "GET",
                "path": path,
                "status": status,
                "bytes": 1234,
                "duration": 0.012,
                "user_agent": agent,
                "user_login": login,
                "user_name": login.split("@")[0].title() if login else "",
                "request_id": f"req-{minutes_ago}-{abs(hash(path)) % 10_000}",
            }
        )

    lines = [line(60 * 24 * 3 + i * 7, "/dashboard", BUSY_USER) for i in range(30)]
    lines += [line(60 * 20 + i * 5, "/analytics/devices", ADMIN_LOGIN) for i in range(8)]
    lines += [line(90, HOSTILE_PATH, "", status=404, agent=HOSTILE_USER_AGENT)]
    lines += [line(30 - i, "/dashboard", BUSY_USER) for i in range(12)]
    if long_names:
        lines += [line(45, LONG_PATH, LONG_LOGIN)]
    return sorted(lines, key=lambda text: json.loads(text)["time"])


def _admin_get(app: RunningService, path: str) -> httpx.Response:
    return httpx.get(f"{app.url}{path}", headers={"Tailscale-User-Login": ADMIN_LOGIN}, timeout=5.0)


def _analytics_ready(app: RunningService, log_lines: int) -> bool:
    """A tailnet snapshot is stored and the access log is ingested."""
    try:
        uptime = _admin_get(app, "/analytics/uptime?days=1").json()
        logs = _admin_get(app, "/analytics/access-logs?hours=168&limit=1").json()
    except (httpx.HTTPError, ValueError):
        return False
    return uptime.get("snapshots", 0) >= 1 and logs.get("total", 0) >= log_lines


def _devices_stale(app: RunningService) -> bool:
    try:
        return bool(_admin_get(app, "/analytics/devices").json()["freshness"]["stale"])
    except (httpx.HTTPError, ValueError, KeyError):
        return False


@contextmanager
def running_stack(
    tmp: Path,
    log_dir: Path,
    *,
    name: str,
    api_key: bool = True,
    rate_limit: int = 20,
    tailnet_down: bool = False,
    empty: bool = False,
    long_names: bool = False,
) -> Iterator[Stack]:
    """Start the stand-ins, load the data, start the app; with `tailnet_down`, stop the LocalAPI once
    a snapshot is stored so the VPN page shows stale data. `empty`: no data at all, and a LocalAPI
    that never answers (a first start without internet). `long_names`: 5,000-character and
    right-to-left-override names in the tailnet and the access log."""
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    access_log = tmp / "access.log"
    log_lines = [] if empty else access_log_lines(datetime.now(UTC), long_names=long_names)
    access_log.write_text("".join(line + "\n" for line in log_lines))
    fixtures = long_name_fixtures(tmp / "fixtures") if long_names else TAILSCALE_FIXTURES
    with ExitStack() as stack:
        claude_port = free_port()
        claude = stack.enter_context(
            service(
                f"{name}-claude",
                python_argv("-m", "tests.standins.claude", "--port", str(claude_port)),
                port=claude_port,
                log_dir=log_dir,
                cwd=REPO_ROOT,
            )
        )
        # Space the streamed words so the browser sees the answer arrive in parts.
        httpx.post(
            f"{claude.url}/control/mode", json={"mode": "ok", "chunk_delay_seconds": 0.04}
        ).raise_for_status()

        socket_path = tmp / "tailscaled.sock"
        localapi_mode = tmp / "localapi-mode"
        localapi_mode.write_text("down" if empty else "normal")
        stack.enter_context(
            service(
                f"{name}-localapi",
                python_argv(
                    "-m",
                    "tests.standins.localapi",
                    "--socket",
                    str(socket_path),
                    "--mode-file",
                    str(localapi_mode),
                    "--fixtures",
                    str(fixtures),
                ),
                port=0,
                log_dir=log_dir,
                cwd=REPO_ROOT,
                ready=socket_path.exists,
            )
        )

        env = {
            "CF_DATA_DIR": str(data_dir),
            "CF_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO_ROOT),
        }
        if not empty:
            for argv in (python_argv("-m", "app.bi.sample_data"), python_argv("-c", LOAD_DST_SAMPLE)):
                subprocess.run(
                    argv,
                    cwd=REPO_ROOT,
                    env={**os.environ, **env},
                    check=True,
                    capture_output=True,
                    timeout=120,
                )

        unreachable = f"http://127.0.0.1:{free_port()}"  # the BI upstreams: nothing listens there
        env.update(
            {
                "CF_REE_BASE_URL": unreachable,
                "CF_OPEN_METEO_BASE_URL": unreachable,
                "CF_AEMET_BASE_URL": unreachable,
                "ANTHROPIC_BASE_URL": claude.url,
                "ANTHROPIC_API_KEY": "sk-ant-standin-key" if api_key else "",
                "CF_CHAT_RATE_LIMIT_REQUESTS": str(rate_limit),
                "CF_CHAT_RATE_LIMIT_WINDOW_SECONDS": "600",
                "CF_ANALYTICS_LOCALAPI_URL": f"unix://{socket_path}",
                "CF_ANALYTICS_ACCESS_LOG_PATH": str(access_log),
                "CF_ANALYTICS_ADMINS": json.dumps([ADMIN_LOGIN]),
                "CF_ANALYTICS_TAILNET_OWNER": ADMIN_LOGIN,
                "CF_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
                "CF_ANALYTICS_INGEST_INTERVAL_SECONDS": "2",
                "CF_ANALYTICS_LOCALAPI_RETRY_AFTER_SECONDS": "0",
            }
        )
        app_port = free_port()
        app = stack.enter_context(
            service(
                f"{name}-app",
                python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(app_port)),
                port=app_port,
                log_dir=log_dir,
                env=env,
                cwd=REPO_ROOT,
                ready=lambda: http_answers(f"http://127.0.0.1:{app_port}/health", 200),
            )
        )
        if not empty:
            wait_until(
                lambda: _analytics_ready(app, len(log_lines)),
                30,
                f"{name}: tailnet snapshot and access-log ingestion",
            )
        if tailnet_down:
            localapi_mode.write_text("down")
            wait_until(lambda: _devices_stale(app), 20, f"{name}: devices flagged stale without the LocalAPI")
        yield Stack(
            app=app,
            data_dir=data_dir,
            access_log=access_log,
            claude_answer_marker=ANSWER_MARKER,
            claude_url=claude.url,
        )
