"""The load generator measures what a user waits, not what a polite client would see."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.bench.http_load import measure, parse_wrk, percentile

SERVICE_TIME_S = 0.1


class _SlowHandler(BaseHTTPRequestHandler):
    """Answers one request at a time (HTTP/1.0, single-threaded server), each after SERVICE_TIME_S."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        time.sleep(SERVICE_TIME_S)
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.request_queue_size = 128
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_an_overloaded_server_shows_its_queue_in_the_latency(slow_server: str) -> None:
    # 20 requests/s offered for 1 s to a server that completes 10/s: the last request waits about 1 s
    # in the queue. A closed-loop client would report ~0.1 s for every request.
    (result,) = measure([slow_server], rate=20, duration=1.0, warmup=0)
    assert result.errors == 0
    assert result.sent == 20
    assert result.p50_ms is not None and result.p50_ms > 3 * SERVICE_TIME_S * 1000
    assert result.max_ms is not None and result.max_ms > 0.8 * 1000


def test_interleaved_urls_each_get_the_rate_and_their_own_figures(slow_server: str) -> None:
    a, b = measure([slow_server + "a", slow_server + "b"], rate=3, duration=1.0, warmup=0)
    assert (a.sent, b.sent) == (3, 3)
    assert a.url.endswith("a") and b.url.endswith("b")


def test_wrk_output_is_read_with_its_units() -> None:
    output = """Running 3s test @ http://127.0.0.1:1/
  1 threads and 16 connections
  Latency Distribution
     50%  850.00us
     75%    1.20ms
     90%    1.67ms
     99%    1.05s
  38916 requests in 3.10s, 5.20MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  12552.42
"""
    result = parse_wrk(output, "http://127.0.0.1:1/", 16, 3)
    assert result.requests_per_s == 12552.42
    assert result.p50_ms == 0.85
    assert result.p99_ms == 1050.0
    assert (result.non_2xx, result.socket_errors) == (7, 3)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert percentile(list(range(1, 101)), 0.99) == 99
    assert percentile([], 0.5) is None
