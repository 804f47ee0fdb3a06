"""The chat under every failure the Messages API can show: an answer within budget, and stats that say so.

The stand-in Claude server is switched, before each question, to answer 429, 529 or 500, to answer later
than the request timeout, to drop the connection, or to cut a streamed answer in the middle. The app
must still answer within its budget (a degraded answer built from the figures, never a 5xx) and count
the failure in /chat/stats and /chat/health.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bench.app_stack import AppStack, running_app
from tests.resilience.conftest import require_module

ANSWER_BUDGET_S = 6.0
REQUEST_TIMEOUT_S = 2.0
# Slack for the app's own work and a loaded CI machine; far below a hung request's duration.
SLACK_S = 3.0
FAULTS: dict[str, dict[str, Any]] = {
    "rate_limit": {"mode": "rate_limit"},
    "overloaded": {"mode": "overloaded"},
    "server_error": {"mode": "server_error"},
    "slow": {"mode": "slow", "delay_seconds": 30},
    "drop": {"mode": "drop"},
    "cut_stream": {"mode": "cut_stream"},
}


@pytest.fixture(scope="module")
def chat_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppStack]:
    require_module("tests.standins.claude", "the Messages API failure modes")
    workdir: Path = tmp_path_factory.mktemp("claude-faults")
    env = {
        "CF_CHAT_ANSWER_BUDGET_SECONDS": str(ANSWER_BUDGET_S),
        "CF_CHAT_REQUEST_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT_S),
        "CF_CHAT_MAX_RETRIES": "1",
        "CF_CHAT_RATE_LIMIT_REQUESTS": "1000",
    }
    with running_app(workdir, env=env) as stack:
        yield stack


def _totals(app: AppStack) -> dict[str, Any]:
    response = httpx.get(f"{app.url}/chat/stats", timeout=10)
    assert response.status_code == 200, response.text
    totals: dict[str, Any] = response.json()["totals"]
    return totals


def _inject(app: AppStack, fault: dict[str, Any]) -> None:
    assert app.claude is not None
    httpx.post(f"{app.claude.url}/control/reset", timeout=5).raise_for_status()
    httpx.post(f"{app.claude.url}/control/mode", json=fault, timeout=5).raise_for_status()


def _ask(app: AppStack) -> dict[str, Any]:
    response = httpx.post(
        f"{app.url}/chat/ask", json={"question": "¿Cuál es el precio de la luz ahora?"}, timeout=60
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _stream(app: AppStack) -> dict[str, Any]:
    """The `done` event's data of a streamed answer (the stream must end with one)."""
    events: list[tuple[str, str]] = []
    with httpx.stream(
        "POST", f"{app.url}/chat/stream", json={"question": "¿Cuándo es más barato producir?"}, timeout=60
    ) as response:
        assert response.status_code == 200, response.read().decode()
        event = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((event, line.split(":", 1)[1].strip()))
    kinds = [kind for kind, _ in events]
    assert kinds and kinds[-1] == "done", f"the stream did not end with a done event: {kinds}"
    done: dict[str, Any] = json.loads(events[-1][1])
    return done


@pytest.mark.parametrize("endpoint", ["ask", "stream"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failing_model_still_gets_an_answer_within_budget_and_is_counted(
    chat_app: AppStack, fault: str, endpoint: str
) -> None:
    before = _totals(chat_app)
    _inject(chat_app, FAULTS[fault])
    started = time.monotonic()
    answer = _ask(chat_app) if endpoint == "ask" else _stream(chat_app)
    elapsed = time.monotonic() - started
    after = _totals(chat_app)

    assert elapsed < ANSWER_BUDGET_S + SLACK_S, f"{fault}: answered after {elapsed:.1f} s"
    assert answer["degraded"] is True, f"{fault}: {answer}"
    assert answer["failure"], f"{fault}: a degraded answer names its failure"
    assert answer["answer"].strip(), "a degraded answer still carries the figures"
    assert after["questions"] == before["questions"] + 1
    assert after["failures"] == before["failures"] + 1, f"{fault}: stats did not record the failure"
    health = httpx.get(f"{chat_app.url}/chat/health", timeout=10).json()
    assert health["last_failure_at"] is not None
    assert health["last_failure_kind"]


def test_the_model_answering_again_ends_the_degraded_state(chat_app: AppStack) -> None:
    _inject(chat_app, {"mode": "ok"})
    before = _totals(chat_app)
    answer = _ask(chat_app)
    after = _totals(chat_app)
    assert answer["degraded"] is False
    assert after["failures"] == before["failures"]
    assert after["questions"] == before["questions"] + 1
