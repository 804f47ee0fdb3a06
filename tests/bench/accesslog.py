"""Access-log ingestion speed and memory: `run_accesslog_bench(size_bytes)` for `make bench`.

A log of nginx `cf_json` lines (as sidecar/nginx.conf.template writes them, with 0.1 % malformed lines)
is generated, ingested into a fresh SQLite database the way the `ingest-access-log` job does (streamed
in batches of CF_ANALYTICS_ACCESS_LOG_BATCH_LINES lines, one transaction each), then ingested again
unchanged (which must store nothing). Whois lookups are left out: they are cached per address and
measure the LocalAPI, not the ingestion.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from app.analytics.accesslog import AccessLogIngester
from app.db import Database
from app.settings import Settings

PATHS = ["/", "/api/prices", "/api/weather", "/api/production", "/chat/ask", "/vpn", "/static/js/app.js"]
USERS = [("marta@chocolate.example", "Marta Ruiz"), ("ana@chocolate.example", "Ana Gómez"), ("", "")]
AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
]
MALFORMED_EVERY = 1000


def generate_log(path: Path, size_bytes: int) -> int:
    """Write about `size_bytes` of access log to `path`; returns the number of lines."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    lines = 0
    written = 0
    chunk: list[str] = []
    with path.open("w", encoding="utf-8") as handle:
        while written < size_bytes:
            if lines % MALFORMED_EVERY == MALFORMED_EVERY - 1:
                text = '{"time": "2026-11-01T00:00:00+00:00", "truncated\n'
            else:
                login, name = USERS[lines % len(USERS)]
                entry = {
                    "time": (start + timedelta(seconds=lines // 50)).isoformat(),
                    "client": f"100.101.{lines % 7}.{lines % 200}",
                    "method": "GET" if lines % 9 else "POST",
                    "path": PATHS[lines % len(PATHS)] + ("?day=2026-11-25" if lines % 4 == 0 else ""),
                    "status": 200 if lines % 23 else 404,
                    "bytes": 200 + lines % 5000,
                    "duration": round((lines % 300) / 1000, 3),
                    "user_agent": AGENTS[lines % len(AGENTS)],
                    "user_login": login,
                    "user_name": name,
                    "request_id": f"{lines:032x}",
                }
                text = json.dumps(entry, ensure_ascii=False) + "\n"
            chunk.append(text)
            written += len(text.encode())
            lines += 1
            if len(chunk) >= 10_000:
                handle.write("".join(chunk))
                chunk.clear()
        handle.write("".join(chunk))
    return lines


class PeakRSS:
    """Samples this process's resident memory every 20 ms; `peak` is the highest seen."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


async def _ingest_twice(db_path: Path, log_path: Path, batch_lines: int) -> dict[str, Any]:
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.migrate()
    try:
        with PeakRSS() as memory:
            started = time.perf_counter()
            first = await AccessLogIngester(db, log_path, batch_lines=batch_lines).run()
            first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = await AccessLogIngester(db, log_path, batch_lines=batch_lines).run()
        again_s = time.perf_counter() - started
    finally:
        await db.dispose()
    return {
        "first": first,
        "first_s": first_s,
        "again": again,
        "again_s": again_s,
        "rss_baseline_mib": memory.baseline / 2**20,
        "rss_peak_mib": memory.peak / 2**20,
    }


def run_accesslog_bench(size_bytes: int) -> dict[str, Any]:
    """Ingest a generated log of about `size_bytes`, then again unchanged; speed and peak memory."""
    batch_lines = Settings().analytics_access_log_batch_lines
    with tempfile.TemporaryDirectory(prefix="cf-bench-accesslog-") as tmp:
        log_path = Path(tmp) / "access.log"
        started = time.perf_counter()
        lines = generate_log(log_path, size_bytes)
        generate_s = time.perf_counter() - started
        log_bytes = log_path.stat().st_size
        measured = asyncio.run(_ingest_twice(Path(tmp) / "bench.db", log_path, batch_lines))
        db_bytes = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))
    first, again = measured["first"], measured["again"]
    expected_malformed = lines // MALFORMED_EVERY
    return {
        "log_mib": round(log_bytes / 2**20, 1),
        "log_lines": lines,
        "batch_lines": batch_lines,
        "generate_s": round(generate_s, 1),
        "ingest_s": round(measured["first_s"], 1),
        "ingest_lines_per_s": round((first.lines + first.malformed) / measured["first_s"]),
        "ingest_mib_per_s": round(log_bytes / 2**20 / measured["first_s"], 1),
        "stored_requests": first.lines,
        "malformed_skipped": first.malformed,
        "counts_match": first.lines + first.malformed == lines and first.malformed == expected_malformed,
        "peak_rss_mib": round(measured["rss_peak_mib"], 1),
        "rss_growth_mib": round(measured["rss_peak_mib"] - measured["rss_baseline_mib"], 1),
        "reingest_unchanged_s": round(measured["again_s"], 3),
        "reingest_unchanged_lines": again.lines + again.malformed,
        "database_mib": round(db_bytes / 2**20, 1),
        "cpu_count": os.cpu_count(),
    }


if __name__ == "__main__":
    size = int(os.environ.get("BENCH_ACCESSLOG_BYTES", str(64 * 2**20)))
    print(json.dumps(run_accesslog_bench(size), indent=2))
