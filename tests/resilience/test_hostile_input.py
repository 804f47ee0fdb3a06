"""Edge values into every operation, and one hostile request followed by a thousand ordinary ones.

Every query parameter and every body field of every operation in the app's schema gets each edge value
(NaN, ±Infinity, 1e400, a lone surrogate, invalid UTF-8, dates that overflow near year 1 and 9999, huge
and negative integers, long text, wrong JSON types): the app answers each with a 4xx or a 2xx, never a
5xx, and its 4xx replies stay small. A separate process times /health all along.

Then one hostile request of each kind — a batch spanning years, a 1e400, a 50 MB body — and a batch row
ending in year 9999 stored as an unbounded app could have stored it; the next thousand ordinary requests
(dashboard reads included) must be as fast as the thousand before (median within 3x + 10 ms, p99 within
3x + 100 ms: room for a shared machine's noise, none for the minutes an unbounded summary took).
"""

from __future__ import annotations

import json
import socket
import sqlite3
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.bench.app_stack import AppStack, running_app
from tests.resilience.health_probe import health_probe

HEALTH_BUDGET_MS = 100.0
SMALL_REPLY_BYTES = 4_000
APP_SCHEMA = create_app(Settings()).openapi()

#: Query values as they appear in the URL (already percent-encoded where needed).
QUERY_EDGES = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1",
    "0",
    "99999999999999999999999999999999",
    "%ED%A0%80",  # a lone surrogate, UTF-8 encoded: not valid UTF-8
    "%FF%FE",
    quote("0001-01-01T00:00:00+01:00"),
    quote("9999-12-31T23:59:59-01:00"),
    quote("2026-06-10T00:00:00"),  # no UTC offset
    "x" * 4000,
    "",
]
#: Body field values as raw JSON.
BODY_EDGES = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e308",
    "-0.0",
    "9223372036854775808",
    "1" + "0" * 5000,  # more digits than Python converts to an int by default
    "[" * 100_000 + "]" * 100_000,  # nested deeper than the JSON parser recurses
    '"\\ud800"',
    '"a\\udfffb"',
    '"0001-01-01T00:00:00+01:00"',
    '"9999-12-31T23:59:59-01:00"',
    '"2026-06-08T06:00:00+00:00"',
    '"' + "x" * 100_000 + '"',
    "null",
    "[]",
    "{}",
    "true",
]
#: A valid body per body-taking operation; each edge value replaces one field of it.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "POST /production/batches": {
        "started_at": "2026-06-08T06:00:00+00:00",
        "ended_at": "2026-06-08T09:00:00+00:00",
        "product": "dark 70%",
        "kg": 400,
        "kwh": 220,
    },
    "POST /chat/ask": {"question": "¿Cuándo es más barato producir?", "conversation_id": "c-1"},
    "POST /chat/stream": {"question": "¿Cuándo es más barato producir?", "conversation_id": "c-1"},
}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in APP_SCHEMA["paths"].items()
        for method, operation in operations.items()
    ]


def _json_with(body: dict[str, Any], field: str | None = None, raw_value: str = "") -> bytes:
    """`body` as JSON with `field`'s value replaced by `raw_value`, written as is (NaN stays NaN)."""
    parts = [
        f"{json.dumps(name)}: " + (raw_value if name == field else json.dumps(value, ensure_ascii=False))
        for name, value in body.items()
    ]
    return ("{" + ", ".join(parts) + "}").encode("utf-8")


def _hostile_requests() -> Iterator[tuple[str, str, bytes | None]]:
    """(method, path with query, body) for every operation, field and edge value."""
    for method, path, operation in _operations():
        label = f"{method} {path}"
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"] or ["unknown"]
        for name in names:
            for value in QUERY_EDGES:
                body = VALID_BODIES.get(label)
                yield method, f"{path}?{name}={value}", _json_with(body) if body else None
        if operation.get("requestBody"):
            assert label in VALID_BODIES, f"{label} takes a body: add a valid one to VALID_BODIES"
            for field in VALID_BODIES[label]:
                for value in BODY_EDGES:
                    yield method, path, _json_with(VALID_BODIES[label], field, value)


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppStack]:
    workdir: Path = tmp_path_factory.mktemp("hostile")
    with running_app(
        workdir,
        env={
            "CF_CHAT_RATE_LIMIT_REQUESTS": "1000000",
            # The batch endpoint is probed past its writer check: this machine writes as `fuzz`.
            "CF_PRODUCTION_LOCAL_WRITER": "fuzz",
        },
    ) as stack:
        yield stack


def test_every_operation_answers_every_edge_value_without_a_5xx(
    hostile_app: AppStack, tmp_path: Path
) -> None:
    server_errors: list[str] = []
    large_replies: list[str] = []
    sent = 0
    with (
        health_probe(hostile_app.url, hostile_app.app.process.pid, tmp_path) as probe,
        httpx.Client(base_url=hostile_app.url, timeout=30) as client,
    ):
        for method, target, body in _hostile_requests():
            headers = {"content-type": "application/json"} if body is not None else {}
            response = client.request(method, target, content=body, headers=headers)
            sent += 1
            where = f"{method} {target[:120]} {(body or b'')[:120]!r}"
            if response.status_code >= 500:
                server_errors.append(f"{response.status_code} {where}: {response.text[:200]}")
            elif response.status_code >= 400:
                if len(response.content) > SMALL_REPLY_BYTES:
                    large_replies.append(f"{len(response.content)} bytes: {where}")
                if response.status_code == 422:
                    assert all("input" not in error for error in response.json()["detail"]), where
    assert not server_errors, f"{len(server_errors)} of {sent} requests got a 5xx:\n" + "\n".join(
        server_errors
    )
    assert not large_replies, "4xx replies that echo their input:\n" + "\n".join(large_replies)
    assert probe.slowest_held_ms < HEALTH_BUDGET_MS, probe.summary()
    print(f"{sent} hostile requests, no 5xx; {probe.summary()}")


ORDINARY = [
    "/health",
    "/bi/production/summary?days=30",
    "/bi/production/summary?days=366",
    "/production/batches?days=7",
    "/bi/prices?hours=24",
    "/bi/prices/stats?days=30",
    "/ready",
]


def _thousand_ordinary(url: str) -> list[float]:
    """Latencies (ms) of 1,000 ordinary requests, dashboard reads included; each must answer 200."""
    latencies = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(1000):
            path = ORDINARY[n % len(ORDINARY)]
            began = time.perf_counter()
            response = client.get(path)
            latencies.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:200]}"
    return latencies


def _send_50_mb(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(
            b"POST /production/batches HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n" + b"[" * 65_536
        )
        return conn.recv(4096)


def test_one_hostile_request_does_not_slow_the_next_thousand(hostile_app: AppStack) -> None:
    before = _thousand_ordinary(hostile_app.url)

    years = {
        "started_at": "2026-01-01T00:00:00+00:00",
        "ended_at": "2099-12-31T00:00:00+00:00",
        "product": "forever",
        "kg": 1,
        "kwh": 1,
    }
    assert httpx.post(f"{hostile_app.url}/production/batches", json=years, timeout=30).status_code == 422
    overflow = VALID_BODIES["POST /production/batches"]
    response = httpx.post(
        f"{hostile_app.url}/production/batches",
        content=_json_with(overflow, "kwh", "1e400"),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422
    assert _send_50_mb(hostile_app.app.port).startswith(b"HTTP/1.1 413 ")
    # A row an unbounded app stored: it started yesterday and ends in year 9999.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(hostile_app.data_dir / "app.db") as conn:
        conn.execute(
            "INSERT INTO production_batches (started_at, ended_at, product, kg, kwh, source, created_at) "
            "VALUES (?, '9999-12-31 23:00:00.000000', 'hostile', 1, 1000, 'api', ?)",
            (yesterday, yesterday),
        )

    after = _thousand_ordinary(hostile_app.url)
    print(f"1000 ordinary requests before the hostile ones: {_figures(before)}; after: {_figures(after)}")
    assert statistics.median(after) < 3 * statistics.median(before) + 10, (_figures(before), _figures(after))
    assert _p99(after) < 3 * _p99(before) + 100, (_figures(before), _figures(after))


def _p99(latencies: list[float]) -> float:
    return sorted(latencies)[int(0.99 * (len(latencies) - 1))]


def _figures(latencies: list[float]) -> str:
    median, p99, slowest = statistics.median(latencies), _p99(latencies), max(latencies)
    return f"median {median:.1f} ms, p99 {p99:.1f} ms, max {slowest:.1f} ms"
