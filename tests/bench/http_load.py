"""Open-loop HTTP load at a fixed request rate, run as its own process so it never shares the server's CPU.

    python -m tests.bench.http_load --url http://127.0.0.1:8000/health --rate 200 --duration 5
    python -m tests.bench.http_load --url URL_A --url URL_B --rate 100   # interleaved, 100/s each

Requests are sent on a fixed schedule (request i at start + i / rate) whether or not earlier ones have
answered, and each latency is measured from the request's *scheduled* send time. A slow server therefore
shows up as latency instead of silently lowering the offered rate (no coordinated omission). The
generator also reports how late it sent requests (`send_lag_p99_ms`): when that is large, the generator,
not the server, was the bottleneck and the figures of that run are not meaningful.

The result is a JSON list on stdout, one object per URL. `run_fixed_rate()` and `run_wrk()` are what the
bench runner calls: each starts the load in a child process and returns its parsed result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx


@dataclass
class LoadResult:
    """What one fixed-rate run measured."""

    url: str
    rate: float
    duration_s: float
    sent: int
    ok: int
    errors: int
    achieved_rps: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    send_lag_p99_ms: float | None
    status_counts: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (`fraction` in 0..1) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


@dataclass
class _Samples:
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    sent: int = 0


async def _fixed_rate(
    urls: Sequence[str],
    rate: float,
    duration: float,
    *,
    headers: dict[str, str],
    local_address: str | None,
    max_connections: int,
    request_timeout: float,
) -> list[_Samples]:
    """Send `rate` requests per second to each URL, interleaved on one schedule (a, b, a, b, ...)."""
    samples = [_Samples() for _ in urls]
    transport = httpx.AsyncHTTPTransport(
        local_address=local_address,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )
    async with httpx.AsyncClient(transport=transport, headers=headers, timeout=request_timeout) as client:

        async def one(url: str, scheduled: float, sample: _Samples) -> None:
            sample.lags.append(time.perf_counter() - scheduled)
            try:
                response = await client.get(url)
                await response.aread()
                sample.statuses[str(response.status_code)] += 1
                if response.status_code < 400:
                    sample.latencies.append(time.perf_counter() - scheduled)
                elif len(sample.error_samples) < 5:
                    sample.error_samples.append(f"HTTP {response.status_code}: {response.text[:200]}")
            except httpx.HTTPError as exc:
                sample.statuses[type(exc).__name__] += 1
                if len(sample.error_samples) < 5:
                    sample.error_samples.append(f"{type(exc).__name__}: {exc}")

        total_rate = rate * len(urls)
        total = int(total_rate * duration)
        start = time.perf_counter() + 0.05
        tasks: list[asyncio.Task[None]] = []
        for i in range(total):
            scheduled = start + i / total_rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            which = i % len(urls)
            samples[which].sent += 1
            tasks.append(asyncio.create_task(one(urls[which], scheduled, samples[which])))
        await asyncio.gather(*tasks)
    return samples


def measure(
    urls: Sequence[str],
    rate: float,
    duration: float,
    *,
    warmup: float = 1.0,
    headers: dict[str, str] | None = None,
    local_address: str | None = None,
    max_connections: int = 64,
    timeout: float = 10.0,
) -> list[LoadResult]:
    """A warm-up (discarded), then the measured run, in this process: one result per URL.

    Several URLs share one schedule, each at `rate`, so their figures come from the same seconds of
    the same machine: the fair way to compare an endpoint with its baseline on a noisy machine.
    """
    options: dict[str, Any] = {
        "headers": headers or {},
        "local_address": local_address,
        "max_connections": max_connections,
        "request_timeout": timeout,
    }
    if warmup > 0:
        asyncio.run(_fixed_rate(urls, rate, warmup, **options))
    began = time.perf_counter()
    samples = asyncio.run(_fixed_rate(urls, rate, duration, **options))
    elapsed = time.perf_counter() - began
    return [_result(url, rate, elapsed, sample) for url, sample in zip(urls, samples, strict=True)]


def _result(url: str, rate: float, elapsed: float, sample: _Samples) -> LoadResult:
    ok = len(sample.latencies)
    return LoadResult(
        url=url,
        rate=rate,
        duration_s=round(elapsed, 3),
        sent=sample.sent,
        ok=ok,
        errors=sample.sent - ok,
        achieved_rps=round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=_ms(percentile(sample.latencies, 0.50)),
        p90_ms=_ms(percentile(sample.latencies, 0.90)),
        p99_ms=_ms(percentile(sample.latencies, 0.99)),
        max_ms=_ms(max(sample.latencies) if sample.latencies else None),
        send_lag_p99_ms=_ms(percentile(sample.lags, 0.99)),
        status_counts=dict(sample.statuses),
        error_samples=sample.error_samples,
    )


def run_fixed_rate(
    urls: Sequence[str],
    rate: float,
    duration: float,
    *,
    warmup: float = 1.0,
    headers: dict[str, str] | None = None,
    local_address: str | None = None,
) -> list[LoadResult]:
    """Run `measure()` in a child process (the load must not share the server's interpreter)."""
    argv = [sys.executable, "-m", "tests.bench.http_load"]
    for url in urls:
        argv += ["--url", url]
    argv += ["--rate", str(rate), "--duration", str(duration), "--warmup", str(warmup)]
    for name, value in (headers or {}).items():
        argv += ["--header", f"{name}: {value}"]
    if local_address:
        argv += ["--local-address", local_address]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=duration + warmup + 120)
    if completed.returncode != 0:
        raise RuntimeError(f"load generator failed for {urls}: {completed.stderr.strip()[-2000:]}")
    return [LoadResult(**item) for item in json.loads(completed.stdout)]


@dataclass
class WrkResult:
    """Closed-loop maximum throughput from Debian's `wrk`."""

    url: str
    connections: int
    duration_s: float
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    non_2xx: int
    socket_errors: int


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_time_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return round(float(match.group(1)) * _UNITS_MS[match.group(2)], 3)


def parse_wrk(output: str, url: str, connections: int, duration: float) -> WrkResult:
    """Read requests/s, the latency distribution and the error counts from `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rps:
        raise ValueError(f"wrk printed no Requests/sec line:\n{output}")
    percentiles = {
        m.group(1): _wrk_time_ms(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)", output, re.M)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        url=url,
        connections=connections,
        duration_s=duration,
        requests_per_s=float(rps.group(1)),
        p50_ms=percentiles.get("50"),
        p99_ms=percentiles.get("99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in socket.groups()) if socket else 0,
    )


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str, *, duration: float = 5.0, connections: int = 16, headers: dict[str, str] | None = None
) -> WrkResult:
    """Maximum throughput with `wrk` (one thread: the other core serves)."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    completed = subprocess.run([*argv, url], capture_output=True, text=True, timeout=duration + 60)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed for {url}: {completed.stderr.strip()}")
    return parse_wrk(completed.stdout, url, connections, duration)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.http_load", description=__doc__)
    parser.add_argument(
        "--url", action="append", required=True, help="repeatable: interleaved, each at --rate"
    )
    parser.add_argument("--rate", type=float, required=True, help="requests per second per URL, fixed")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of discarded load first")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--local-address", default=None, help="source address to bind, e.g. 127.0.0.2")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()  # the generator's own overhead as low as it goes
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        pass
    headers = dict(h.split(":", 1) for h in args.header)
    results = measure(
        args.url,
        args.rate,
        args.duration,
        warmup=args.warmup,
        headers={k.strip(): v.strip() for k, v in headers.items()},
        local_address=args.local_address,
    )
    json.dump([asdict(result) for result in results], sys.stdout)


if __name__ == "__main__":
    main()
