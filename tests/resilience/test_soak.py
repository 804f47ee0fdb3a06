"""50 concurrent clients mixing reads and chat (asked and streamed) against one uvicorn worker for 60 s.

While they run, the scheduler ingests an access log that keeps growing and every chat answer writes its
stats, so reads and writes meet in SQLite all along. No request may fail (any status but 200, any
transport error, a degraded chat answer from a healthy model), the app's log must never say
"database is locked", and the chat stats must count exactly the questions answered.

RESILIENCE_SOAK_SECONDS shortens the run for local iteration; CI runs the full 60 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.bench.app_http import choose_endpoints
from tests.bench.app_stack import AppStack, running_app
from tests.resilience.conftest import require_module

CLIENTS = 50
SECONDS = float(os.environ.get("RESILIENCE_SOAK_SECONDS", "60"))
CHAT_SHARE = 0.25
QUESTIONS = [
    "¿Cuál es el precio de la luz ahora?",
    "When is it cheapest to produce today?",
    "¿Qué temperatura hace en la fábrica?",
    "How much energy per kg this week?",
]
EXTRA_READS = ["/ready", "/chat/stats", "/analytics/quota-status", "/analytics/access-logs?hours=1"]


@contextmanager
def growing_access_log(path: Path, lines_per_second: int = 500) -> Iterator[None]:
    """Append nginx `cf_json` lines to `path` in the background, like a busy dashboard would."""
    stop = threading.Event()

    def append() -> None:
        n = 0
        while not stop.is_set():
            now = datetime.now(UTC).isoformat(timespec="seconds")
            with path.open("a") as log:
                for _ in range(lines_per_second // 10):
                    record = {
                        "time": now,
                        "client": "100.64.0.7",
                        "method": "GET",
                        "path": "/dashboard",
                        "status": 200,
                        "bytes": 900,
                        "duration": 0.003,
                        "user_agent": "Mozilla/5.0",
                        "user_login": "ana@example.com",
                        "user_name": "Ana",
                        "request_id": f"soak-{n}",
                    }
                    log.write(json.dumps(record) + "\n")
                    n += 1
            stop.wait(0.1)

    path.touch()
    thread = threading.Thread(target=append, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


async def _streamed_done(client: httpx.AsyncClient, question: str) -> tuple[int, dict[str, Any] | str]:
    """POST /chat/stream read to the end: (status, the `done` event's data, or what went wrong)."""
    async with client.stream("POST", "/chat/stream", json={"question": question}) as response:
        if response.status_code != 200:
            return response.status_code, (await response.aread()).decode()[:200]
        last_event, last_data = "", ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                last_event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                last_data = line.split(":", 1)[1].strip()
    if last_event != "done":
        return 200, f"the stream ended with {last_event!r}, not done"
    done: dict[str, Any] = json.loads(last_data)
    return 200, done


async def _client(
    base_url: str, reads: list[str], until: float, seed: int, outcomes: Counter[str], failures: list[str]
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        while time.monotonic() < until:
            roll = rng.random()
            kind = "ask" if roll < CHAT_SHARE / 2 else "stream" if roll < CHAT_SHARE else "read"
            what = {"ask": "POST /chat/ask", "stream": "POST /chat/stream"}.get(
                kind, f"GET {rng.choice(reads)}"
            )
            try:
                if kind == "ask":
                    response = await client.post("/chat/ask", json={"question": rng.choice(QUESTIONS)})
                    status, body = (
                        response.status_code,
                        response.json() if response.status_code == 200 else response.text,
                    )
                elif kind == "stream":
                    status, body = await _streamed_done(client, rng.choice(QUESTIONS))
                else:
                    response = await client.get(what.split(" ", 1)[1])
                    status, body = response.status_code, response.text
            except httpx.HTTPError as exc:
                failures.append(f"{what}: {type(exc).__name__}: {exc}")
                continue
            if status != 200:
                failures.append(f"{what}: {status} {str(body)[:200]}")
            elif kind != "read" and (not isinstance(body, dict) or body["degraded"]):
                failures.append(f"{what}: {body if isinstance(body, str) else body['failure']}")
            else:
                outcomes["read" if kind == "read" else "chat"] += 1


def _soak(app: AppStack, seconds: float) -> tuple[Counter[str], list[str]]:
    endpoints, _how = choose_endpoints(app.url)
    reads = sorted({*endpoints, *EXTRA_READS})
    outcomes: Counter[str] = Counter()
    failures: list[str] = []

    async def run() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(_client(app.url, reads, until, n, outcomes, failures) for n in range(CLIENTS)))

    asyncio.run(run())
    return outcomes, failures


def test_50_clients_mixing_reads_and_chat_meet_no_error_and_no_locked_database(tmp_path: Path) -> None:
    require_module("tests.standins.claude", "chat answers from a healthy model")
    access_log = tmp_path / "access.log"
    env = {
        "CF_CHAT_RATE_LIMIT_REQUESTS": "1000000",
        "CF_ANALYTICS_ACCESS_LOG_PATH": str(access_log),
        "CF_ANALYTICS_INGEST_INTERVAL_SECONDS": "1",
        "CF_ANALYTICS_SNAPSHOT_INTERVAL_SECONDS": "10",
    }
    with growing_access_log(access_log), running_app(tmp_path, env=env, with_scheduler=True) as app:
        questions_before = httpx.get(f"{app.url}/chat/stats", timeout=10).json()["totals"]["questions"]
        outcomes, failures = _soak(app, SECONDS)
        questions_after = httpx.get(f"{app.url}/chat/stats", timeout=10).json()["totals"]["questions"]
        assert app.app.alive(), "the app died under load"
        log = app.app.log()

    assert not failures, f"{len(failures)} failed requests, e.g.: {failures[:10]}"
    assert outcomes["read"] > 0 and outcomes["chat"] > 0, outcomes
    assert "database is locked" not in log.lower(), "SQLite contention surfaced in the app's log"
    assert questions_after - questions_before == outcomes["chat"], "chat stats lost or doubled answers"
