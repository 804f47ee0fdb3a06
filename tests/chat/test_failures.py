"""No key, or the Messages API failing in every way: still a 200 within the budget, figures, degraded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chat.conftest import FAST_FAILURES, AppServer, Standin, run_app, sse_events
from tests.chat.factory_data import seed_database

BUDGET = float(FAST_FAILURES["CF_CHAT_ANSWER_BUDGET_SECONDS"])
#: Slack for process scheduling on a busy machine; the budget itself is what the app enforces.
SLACK = 2.0


def _app(standin: Standin | None, data_dir: Path) -> Iterator[AppServer]:
    seed_database(f"sqlite+aiosqlite:///{data_dir / 'app.db'}")
    env = {"CF_CHAT_RATE_LIMIT_REQUESTS": "1000"}
    if standin is not None:
        env |= {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": standin.url}
    with run_app(data_dir, env, data_dir / "logs") as app:
        yield app


@pytest.fixture(scope="module")
def keyed_app(standin_process: Standin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    yield from _app(standin_process, tmp_path_factory.mktemp("failing"))


@pytest.fixture(scope="module")
def keyless_app(standin_process: Standin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    yield from _app(None, tmp_path_factory.mktemp("keyless"))


def _timed_ask(app: AppServer, question: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = app.ask(question)
    return response, time.monotonic() - started


@pytest.mark.parametrize(
    ("mode", "failure"),
    [
        ("rate_limit", "rate_limited"),
        ("overloaded", "overloaded"),
        ("server_error", "server_error"),
        ("drop", "connection"),
        ("cut_stream", "connection"),
    ],
)
def test_api_errors_give_the_figures_degraded_after_one_retry(
    keyed_app: AppServer, standin: Standin, mode: str, failure: str
) -> None:
    standin.mode(mode, retry_after="0")
    response, elapsed = _timed_ask(keyed_app, "What is the electricity price now?")
    assert response.status_code == 200
    body = response.json()
    assert body["degraded"] is True and body["failure"] == failure
    assert body["answer"].startswith(f"Claude is not available right now ({failure})")
    assert "0.1500 €/kWh" in body["answer"], "the retrieved figures are in the plain summary"
    assert body["tokens"] == {"input": 0, "output": 0, "cache_write": 0, "cache_read": 0}
    assert body["cost_eur"] == 0
    assert len(standin.requests()) == 2, "one attempt and the one retry configured"
    assert elapsed < BUDGET + SLACK


def test_a_slow_api_times_out_within_the_budget(keyed_app: AppServer, standin: Standin) -> None:
    standin.mode("slow", delay_seconds=6)
    response, elapsed = _timed_ask(keyed_app, "¿Cuál es el precio ahora?")
    body = response.json()
    assert response.status_code == 200 and body["degraded"] is True and body["failure"] == "timeout"
    assert body["answer"].startswith("Claude no está disponible ahora mismo (timeout)"), "answered in Spanish"
    assert elapsed < BUDGET + SLACK


def test_a_long_retry_after_cannot_hold_the_answer_past_the_budget(
    keyed_app: AppServer, standin: Standin
) -> None:
    standin.mode("rate_limit", retry_after="30")
    response, elapsed = _timed_ask(keyed_app, "price now?")
    body = response.json()
    assert response.status_code == 200 and body["degraded"] is True and body["failure"] == "timeout"
    assert len(standin.requests()) == 1, "the retry would have come after the budget"
    assert elapsed < BUDGET + SLACK


def test_one_overload_is_retried_into_a_real_answer(keyed_app: AppServer, standin: Standin) -> None:
    standin.mode("overloaded", times=1, retry_after="0")
    body = keyed_app.ask("price now?").json()
    assert body["degraded"] is False and "price_eur_kwh = 0.15" in body["answer"]
    assert [r["mode"] for r in standin.requests()] == ["overloaded", "ok", "ok"], "retry, then the tool turn"


def test_a_stream_cut_midway_keeps_the_text_and_adds_the_figures(
    keyed_app: AppServer, standin: Standin
) -> None:
    standin.mode("cut_stream")
    response = httpx.post(f"{keyed_app.url}/chat/stream", json={"question": "price now?"}, timeout=30)
    assert response.status_code == 200
    events = sse_events(response.text)
    assert [name for name, _ in events][-1] == "done"
    done = events[-1][1]
    assert done["degraded"] is True and done["failure"] == "stream_cut"
    assert done["answer"].startswith("Let"), "the text streamed before the cut is kept"
    assert "[answer interrupted]" in done["answer"] and "0.1500 €/kWh" in done["answer"]
    assert "".join(data["text"] for name, data in events if name == "delta") == done["answer"]
    assert len(standin.requests()) == 1, "a stream that has begun is not retried"


def test_a_stream_that_cannot_start_answers_with_the_figures(keyed_app: AppServer, standin: Standin) -> None:
    standin.mode("server_error", retry_after="0")
    response = httpx.post(f"{keyed_app.url}/chat/stream", json={"question": "price now?"}, timeout=30)
    events = sse_events(response.text)
    assert response.status_code == 200
    assert [name for name, _ in events] == ["meta", "delta", "done"]
    assert events[-1][1]["failure"] == "server_error" and "0.1500 €/kWh" in events[1][1]["text"]


def test_without_a_key_the_figures_are_answered_and_the_api_is_never_called(
    keyless_app: AppServer, standin: Standin
) -> None:
    response, elapsed = _timed_ask(keyless_app, "¿Cuál es el precio de la luz ahora?")
    body = response.json()
    assert response.status_code == 200
    assert body["degraded"] is True and body["failure"] == "no_key"
    assert body["answer"].startswith("No hay clave de la API de Claude configurada")
    assert "0,1500 €/kWh" in body["answer"], "the current hour's price, written the Spanish way"
    events = sse_events(httpx.post(f"{keyless_app.url}/chat/stream", json={"question": "price?"}).text)
    assert [name for name, _ in events] == ["meta", "delta", "done"]
    assert events[-1][1]["failure"] == "no_key"
    health = httpx.get(f"{keyless_app.url}/chat/health").json()
    assert health["key_configured"] is False and health["last_failure_at"] is None
    assert standin.requests() == []
