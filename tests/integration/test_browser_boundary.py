"""A page on another site cannot make a tailnet user's browser write in their name (app/browser_guards.py).

The user's login is ambient (tailscale serve adds it to whatever their browser sends), so the app itself
must refuse what a foreign page can send: a write whose Origin is another site, and a body that is not
JSON (a form, `text/plain`, or no type at all, which need no CORS preflight). The app runs for real here,
with this machine as its writer, as `make run` has it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.bi.conftest import REPO_ROOT, app_argv
from tests.support.services import RunningService, free_port, http_answers, service

BATCH = {
    "started_at": "2026-11-02T06:00:00+01:00",
    "ended_at": "2026-11-02T09:00:00+01:00",
    "product": "dark 70%",
    "kg": 400,
    "kwh": 220,
}
PERIOD = {"start": "2026-11-01T00:00:00+01:00", "end": "2026-11-03T00:00:00+01:00"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = tmp_path_factory.mktemp("browser-boundary")
    port = free_port()
    with service(
        "app-browser-boundary",
        app_argv(port),
        port=port,
        log_dir=workdir,
        env={
            "CF_DATA_DIR": str(workdir / "data"),
            "CF_SCHEDULER_ENABLED": "false",
            "CF_PRODUCTION_LOCAL_WRITER": "local-operator",
        },
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as running:
        yield running


def _stored(app: RunningService) -> list[str]:
    batches = httpx.get(f"{app.url}/production/batches", params=PERIOD).json()["batches"]
    return [b["product"] for b in batches]


def test_a_cross_site_form_cannot_record_a_batch(app: RunningService) -> None:
    url = f"{app.url}/production/batches"
    body = json.dumps(BATCH)
    # What a foreign page can send without a preflight: a form, text/plain, or a body with no type.
    no_preflight = {
        "form": httpx.post(url, data={"product": "dark 70%", "kg": "400"}),
        "text/plain": httpx.post(url, content=body, headers={"Content-Type": "text/plain;charset=UTF-8"}),
        "no type": httpx.post(url, content=body, headers={"Content-Type": ""}),
    }
    for kind, response in no_preflight.items():
        assert response.status_code == 415, (kind, response.text)
        assert "Content-Type: application/json" in response.json()["detail"]
    # JSON from another site's page: the browser names that site in Origin.
    for origin in ("https://evil.example", "null", "http://127.0.0.1.evil.example"):
        foreign = httpx.post(url, json=BATCH, headers={"Origin": origin})
        assert foreign.status_code == 403, (origin, foreign.text)
        assert "cross-site write refused" in foreign.json()["detail"]
    assert _stored(app) == [], "nothing a foreign page sent was stored"
    # The dashboard's own page (same origin) and tools that send no Origin still write.
    own = httpx.post(url, json=BATCH, headers={"Origin": app.url})
    assert own.status_code == 201, own.text
    assert _stored(app) == ["dark 70%"]


def test_a_cross_site_page_cannot_ask_in_the_users_name(app: RunningService) -> None:
    for path in ("/chat/ask", "/chat/stream"):
        asked = httpx.post(
            f"{app.url}{path}", json={"question": "¿precio?"}, headers={"Origin": "https://evil.example"}
        )
        assert asked.status_code == 403, (path, asked.text)
    stats = httpx.get(f"{app.url}/chat/stats").json()
    assert stats["totals"]["questions"] == 0


def test_every_response_says_nosniff(app: RunningService) -> None:
    responses = [
        httpx.get(f"{app.url}/health"),
        httpx.get(f"{app.url}/bi/prices", params={"hours": 24}),
        httpx.get(f"{app.url}/no-such-page"),
        httpx.get(f"{app.url}/production/batches", params={"start": "0001-01-01T00:00:00+01:00"}),
        httpx.post(f"{app.url}/production/batches", content=b"x", headers={"Content-Type": "text/plain"}),
        httpx.get(f"{app.url}/dashboard"),
        httpx.get(f"{app.url}/openapi.json"),
    ]
    assert [r.headers.get("x-content-type-options") for r in responses] == ["nosniff"] * len(responses)
    assert "access-control-allow-origin" not in {h for r in responses for h in r.headers}
