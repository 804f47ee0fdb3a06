"""Stats persisted across a restart, and rate limits per identity that a client cannot forge."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.chat.conftest import AppServer, Standin, run_app
from tests.chat.factory_data import seed_database


def test_stats_and_conversations_survive_an_app_restart(
    standin: Standin, tmp_path: Path, database_url: str
) -> None:
    seed_database(database_url)
    env = {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": standin.url, "DATABASE_URL": database_url}
    with run_app(tmp_path, env, tmp_path / "logs") as app:
        answers = [app.ask("price now?").json(), app.ask("¿Hay alertas?").json()]
        conversation = answers[0]["conversation_id"]
        standin.mode("overloaded", retry_after="0")
        answers.append(app.ask("weather?").json())
        before = httpx.get(f"{app.url}/chat/stats").json()
    standin.reset()
    with run_app(tmp_path, env, tmp_path / "logs-after") as app:
        after = httpx.get(f"{app.url}/chat/stats").json()
        follow_up = app.ask("¿Y mañana?", conversation_id=conversation).json()
    assert after == before
    totals = after["totals"]
    assert totals["questions"] == 3 and totals["failures"] == 1 and totals["degraded"] == 1
    assert totals["input_tokens"] == sum(a["tokens"]["input"] for a in answers) > 0
    assert totals["output_tokens"] == sum(a["tokens"]["output"] for a in answers) > 0
    assert abs(totals["cost_eur"] - sum(a["cost_eur"] for a in answers)) < 1e-6
    latencies = sorted(a["latency_ms"] for a in answers)
    assert latencies[0] <= totals["latency_ms_p50"] <= totals["latency_ms_p95"] <= latencies[-1] + 0.1
    (today,) = after["per_day"]
    assert today["day"] == datetime.now(UTC).strftime("%Y-%m-%d")
    assert today["questions"] == 3
    assert follow_up["conversation_id"] == conversation, "the conversation continues after the restart"
    first_request = standin.requests()[0]["body"]
    assert "price now?" in str(first_request["messages"][0]), "with its earlier turn sent along"


def _limited_app(tmp_path: Path, trusted: str) -> AbstractContextManager[AppServer]:
    env = {
        "CF_CHAT_RATE_LIMIT_REQUESTS": "2",
        "CF_CHAT_RATE_LIMIT_WINDOW_SECONDS": "60",
        "CF_TRUSTED_PROXIES": trusted,
    }
    return run_app(tmp_path, env, tmp_path / "logs")


def _ask(app: AppServer, headers: dict[str, str] | None = None, path: str = "/chat/ask") -> httpx.Response:
    return httpx.post(f"{app.url}{path}", json={"question": "price?"}, headers=headers or {}, timeout=30)


def test_the_sidecars_user_header_gives_each_user_their_own_limit(tmp_path: Path) -> None:
    alice = {"Tailscale-User-Login": "alice@example.com"}
    with _limited_app(tmp_path, '["127.0.0.1"]') as app:
        assert [_ask(app, alice).status_code for _ in range(2)] == [200, 200]
        refused = _ask(app, alice)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "too many questions" in refused.json()["detail"]
        assert _ask(app, alice, "/chat/stream").status_code == 429, "streaming counts against the same limit"
        assert _ask(app, {"Tailscale-User-Login": "bob@example.com"}).status_code == 200
        assert _ask(app).status_code == 200, "no header: the address is the identity"
        tagged = {"Tailnet-Client-Address": "100.64.0.9"}
        assert _ask(app, tagged).status_code == 200, "no user: the tailnet address nginx passed on"


def test_a_client_cannot_forge_the_user_header_or_its_address(tmp_path: Path) -> None:
    with _limited_app(tmp_path, '["10.99.0.7"]') as app:
        assert _ask(app, {"Tailscale-User-Login": "alice@example.com"}).status_code == 200
        assert _ask(app, {"Tailscale-User-Login": "bob@example.com"}).status_code == 200
        forged = [
            {"Tailscale-User-Login": "carol@example.com"},
            {"Tailscale-User-Login": "dave@example.com", "X-Forwarded-For": "10.99.0.7"},
            {"X-Forwarded-For": "192.0.2.1"},
            {"Tailnet-Client-Address": "192.0.2.2"},
        ]
        for headers in forged:
            assert _ask(app, headers).status_code == 429, headers
