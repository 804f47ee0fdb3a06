"""Crafted input against `python -m app`: non-finite numbers, lone surrogates, overflowing dates, big bodies.

Each gets a 4xx that names the field (or the body cap) and never a 5xx; a 422 never echoes the input; a
body over CF_MAX_REQUEST_BODY_BYTES gets 413 whether it declares its length or arrives chunked, and 50 MB
sent straight to the app leave its memory where it was.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port, http_answers, python_argv, service

BODY_CAP = 1_048_576
JSON = {"content-type": "application/json"}
BATCH = (
    '{"started_at": "2026-06-08T06:00:00+00:00", "ended_at": "2026-06-08T09:00:00+00:00", '
    '"product": %s, "kg": %s, "kwh": 200}'
)


@dataclass
class App:
    url: str
    port: int
    pid: int


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    workdir = tmp_path_factory.mktemp("crafted")
    port = free_port()
    with service(
        "app-crafted-input",
        python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
        port=port,
        log_dir=workdir,
        env={
            "CF_DATA_DIR": str(workdir / "data"),
            "CF_SCHEDULER_ENABLED": "false",
            "CF_PRODUCTION_LOCAL_WRITER": "local-operator",
        },
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as running:
        yield App(running.url, port, running.process.pid)


def _post_raw(app: App, path: str, body: str) -> httpx.Response:
    return httpx.post(f"{app.url}{path}", content=body.encode("utf-8"), headers=JSON, timeout=30)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_a_non_finite_number_gets_a_422_naming_the_field(app: App, number: str) -> None:
    response = _post_raw(app, "/production/batches", BATCH % ('"dark 70%"', number))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "kg"]
    assert "finite" in error["msg"]
    assert "input" not in error


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/production/batches", BATCH % ('"dark \\ud800"', "400"), ["body", "product"]),
        ("/chat/ask", '{"question": "\\udfff precio"}', ["body", "question"]),
        ("/chat/stream", '{"question": "precio \\ud83d"}', ["body", "question"]),
        ("/chat/ask", '{"question": "precio", "\\ud800": NaN}', ["body"]),
    ],
)
def test_a_lone_surrogate_gets_a_422_not_a_500(app: App, path: str, body: str, loc: list[str]) -> None:
    response = _post_raw(app, path, body)
    assert response.status_code == 422, response.text
    assert loc in [error["loc"][: len(loc)] for error in response.json()["detail"]]


def test_a_422_names_the_field_and_what_is_expected_but_never_echoes_the_input(app: App) -> None:
    huge_name = "x" * 900_000
    response = _post_raw(app, "/production/batches", BATCH % (f'"{huge_name}"', "400"))
    assert response.status_code == 422
    assert len(response.content) < 2_000, f"a {len(response.content)}-byte reply to a bad product name"
    [error] = response.json()["detail"]
    assert error == {
        "loc": ["body", "product"],
        "msg": "String should have at most 100 characters",
        "type": "string_too_long",
    }


def test_a_declared_body_over_the_cap_gets_413_before_it_is_read(app: App) -> None:
    body = b'{"question": "' + b"a" * BODY_CAP + b'"}'
    response = httpx.post(f"{app.url}/chat/ask", content=body, headers=JSON, timeout=30)
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"request body too large: at most {BODY_CAP} bytes (CF_MAX_REQUEST_BODY_BYTES); "
        "nothing was stored"
    }


def test_a_chunked_body_without_content_length_is_counted_as_it_arrives(app: App) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(40):
            yield b"a" * 65_536
        yield b'"}'

    request = httpx.Request("POST", f"{app.url}/chat/ask", content=chunks(), headers=JSON)
    assert "content-length" not in request.headers and request.headers["transfer-encoding"] == "chunked"
    with httpx.Client(timeout=30) as client:
        response = client.send(request)
    assert response.status_code == 413
    assert "CF_MAX_REQUEST_BODY_BYTES" in response.json()["detail"]
    # Below the cap a chunked body is read whole, as before.
    small = httpx.Request("POST", f"{app.url}/chat/ask", content=iter([b'{"question": 5}']), headers=JSON)
    with httpx.Client(timeout=30) as client:
        assert client.send(small).status_code == 422


def _peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def _send_straight(app: App, head: bytes, body_bytes: int) -> bytes:
    """Send `head` then `body_bytes` of JSON string in 64 KiB chunks from a thread; return the reply."""
    chunk = b"a" * 65_536
    with socket.create_connection(("127.0.0.1", app.port), timeout=30) as conn:
        conn.sendall(head)

        def send_body() -> None:
            sent = 0
            try:
                while sent < body_bytes:
                    conn.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # the app answered and closed: the rest of the body is never read

        sender = threading.Thread(target=send_body)
        sender.start()
        reply = b""
        try:
            while data := conn.recv(65_536):
                reply += data
        except OSError:
            pass
        sender.join(timeout=60)
    return reply


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_50_mb_sent_straight_to_the_app_get_a_small_reply_and_leave_its_memory_flat(
    app: App, declared: bool
) -> None:
    size = 50 * 1024 * 1024
    framing = f"Content-Length: {size}" if declared else "Transfer-Encoding: chunked"
    head = (
        f"POST /chat/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()
    if not declared:
        head += b"%x\r\n" % size  # one 50 MB chunk: the app must refuse it long before its end
    before = _peak_rss_kb(app.pid)
    reply = _send_straight(app, head, size)
    grown_mb = (_peak_rss_kb(app.pid) - before) / 1024
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
    assert len(reply) < 1_000
    assert grown_mb < 20, f"the app's peak memory grew by {grown_mb:.0f} MB"
    assert httpx.get(f"{app.url}/health", timeout=5).status_code == 200
