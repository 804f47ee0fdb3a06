"""At DEBUG, the app's log holds no login, no question and no API key.

The app runs as the dev stack runs it (`python -m app`, CF_LOG_LEVEL=DEBUG, JSON lines), with the
scheduler, the stand-in tailscaled (whose devices belong to the fixture's logins), an access log naming a
user, and the Claude stand-in. Every operation of the OpenAPI schema, and the pages, are called as a
tailnet admin through the trusted proxy (this machine's loopback stands where the web container does);
questions go to the model, plain and streamed. Then the captured output is searched.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.bench.app_stack import running_app
from tests.support.services import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
LOGIN = "zoe.quokka@chocolate.example"
MARK = "quokka7731"  # a word of the question that nothing else would write
QUESTION = f"¿Cuánto costó el lote {MARK} de bombones, y cuándo es más barato producir hoy?"
API_KEY = "sk-ant-api03-standin-key-4417-never-logged"
HEADERS = {"Tailscale-User-Login": LOGIN, "Tailscale-User-Name": "Zoe Quokka"}
BATCH = {
    "started_at": "2026-11-02T08:00:00+01:00",
    "ended_at": "2026-11-02T12:00:00+01:00",
    "product": "dark 70%",
    "kg": 400,
    "kwh": 220,
}
#: Bodies and query parameters of the operations that need them; a new write operation must be added.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/production/batches"): BATCH,
    ("post", "/chat/ask"): {"question": QUESTION},
    ("post", "/chat/stream"): {"question": QUESTION},
}
PARAMS: dict[str, dict[str, str]] = {
    "/analytics/access-logs": {"user": LOGIN, "path": "/dashboard", "hours": "48"},
    "/production/batches": {"days": "60"},
}
PAGES = ("/", "/dashboard", "/vpn", "/docs", "/openapi.json")


def fixture_logins() -> set[str]:
    status = (REPO_ROOT / "tests" / "fixtures" / "tailscale" / "status.json").read_text()
    return {login for login in re.findall(r'"LoginName": "([^"]+)"', status) if "@" in login}


def write_access_log(path: Path) -> None:
    """nginx's `cf_json` lines (sidecar/nginx.conf.template) from the admin's browser, one cut short."""
    lines = [
        {
            "time": (datetime.now(UTC) - timedelta(minutes=10 - n)).isoformat(timespec="seconds"),
            "client": "100.101.3.30",
            "method": "GET",
            "path": "/dashboard",
            "status": 200,
            "bytes": 512,
            "duration": 0.004,
            "user_agent": "curl/8.5.0",
            "user_login": LOGIN,
            "user_name": "Zoe Quokka",
            "request_id": f"privacy-{n}",
        }
        for n in range(2)
    ]
    written = [json.dumps(line, separators=(",", ":")) for line in lines]  # nginx writes no spaces
    cut_short = written[0][:-30]  # a line nginx did not finish: skipped, and reported
    path.write_text("".join(line + "\n" for line in [*written, cut_short]))


def call_every_operation(client: httpx.Client) -> dict[str, int]:
    """Each operation of the schema and each page, as the admin; returns `METHOD path` -> status."""
    statuses: dict[str, int] = {}
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method in operations:
            body = BODIES.get((method, path))
            if method != "get" and body is None:
                raise AssertionError(f"{method.upper()} {path}: add a request body to BODIES")
            response = client.request(method, path, json=body, params=PARAMS.get(path))
            statuses[f"{method.upper()} {path}"] = response.status_code
            if path == "/chat/ask":
                follow_up = {"question": QUESTION, "conversation_id": response.json()["conversation_id"]}
                statuses["POST /chat/ask (second turn)"] = client.post(path, json=follow_up).status_code
    for page in PAGES:
        statuses[f"GET {page}"] = client.get(page).status_code
    return statuses


def test_at_debug_no_login_question_or_api_key_reaches_the_log(tmp_path: Path) -> None:
    access_log = tmp_path / "access.log"
    write_access_log(access_log)
    env = {
        "CF_LOG_LEVEL": "DEBUG",
        "CF_LOG_FORMAT": "json",
        "CF_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
        "CF_ANALYTICS_ADMINS": json.dumps([LOGIN]),
        "CF_PRODUCTION_WRITERS": json.dumps([LOGIN]),
        "CF_ANALYTICS_ACCESS_LOG_PATH": str(access_log),
        "ANTHROPIC_API_KEY": API_KEY,
    }
    with running_app(tmp_path, app_module="app", env=env, with_scheduler=True) as stack:
        assert not stack.absent, stack.absent
        with httpx.Client(base_url=stack.url, headers=HEADERS, timeout=30) as client:

            def analytics_jobs_ran() -> bool:
                jobs = {job["name"]: job for job in client.get("/scheduler/jobs").json()["jobs"]}
                runs = [jobs[name]["last_run"] for name in ("snapshot-tailnet", "ingest-access-log")]
                return all(run is not None and run["status"] == "ok" for run in runs)

            wait_until(analytics_jobs_ran, 30, "the snapshot and access-log jobs")
            statuses = call_every_operation(client)
            answered = client.get("/chat/stats").json()["totals"]["questions"]
        log = stack.app.log()

    failed = {call: status for call, status in statuses.items() if status >= 400}
    assert not failed, f"every call should succeed as the admin: {failed}"
    assert answered >= 3, "the questions reached the model and were recorded"
    assert '"logger": "uvicorn.access"' in log and "POST /chat/stream" in log, "the log was captured"
    assert "1 malformed line(s) skipped" in log, "the broken access-log line was reported"
    # The login's user part alone: a cut excerpt of a line is a leak too.
    secrets = {"the asker's login": LOGIN.split("@")[0], "the question": MARK, "the API key": API_KEY}
    secrets |= {f"tailnet login {login}": login for login in fixture_logins()}
    leaks = {
        what: [line[:300] for line in log.splitlines() if value.casefold() in line.casefold()][:3]
        for what, value in secrets.items()
    }
    assert not {what: lines for what, lines in leaks.items() if lines}, "personal data in the log"
