"""A separate process that times `GET /health` every 20 ms while other tests load the app.

    python -m tests.resilience.health_probe http://127.0.0.1:8000 latencies.txt APP_PID

It writes one line per request until SIGTERM: `<wall ms> <status> <app CPU ms> <unix time>` (status 0: no
answer). Being its own process, its clock is not held up by the test process's work (the fuzzer, its
threads, the GIL). `health_probe()` runs it around a block and hands back what it measured.

Two figures per request. `wall ms` is what a client waited. `app CPU ms` is the CPU time the app process
used meanwhile (/proc/PID/stat, utime + stime): a request blocking the event loop keeps the app busy for
as long as it blocks, so `min(wall, app CPU)` is how long the app's own work held `/health` back. On a
machine shared with other jobs, wall time also holds the time the app waited for a core, which no code of
the app can change; the event-loop figure leaves that out.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

INTERVAL_S = 0.02


@dataclass
class ProbeResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    app_cpu_ms: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    @property
    def held_by_app_ms(self) -> list[float]:
        """Per probe: how long the app's own work (not waiting for a core) held /health back."""
        return [min(wall, cpu) for wall, cpu in zip(self.latencies_ms, self.app_cpu_ms, strict=True)]

    @property
    def slowest_held_ms(self) -> float:
        return max(self.held_by_app_ms, default=0.0)

    @property
    def slowest_wall_ms(self) -> float:
        return max(self.latencies_ms, default=0.0)

    def slowest_at(self) -> float:
        """Unix time of the probe the app's work held back longest."""
        held = self.held_by_app_ms
        return self.times[held.index(max(held))] if held else 0.0

    def summary(self) -> str:
        ordered = sorted(self.latencies_ms)
        p99 = ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0
        return (
            f"{len(ordered)} probes of /health: wall p99 {p99:.1f} ms, max {self.slowest_wall_ms:.1f} ms; "
            f"held by the app's work at most {self.slowest_held_ms:.1f} ms"
        )


@contextmanager
def health_probe(url: str, app_pid: int, workdir: Path) -> Iterator[ProbeResult]:
    """Probe `url`/health from a separate process for the duration of the block; the result fills on exit."""
    out = workdir / "health-probe.txt"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.resilience.health_probe", url, str(out), str(app_pid)]
    )
    result = ProbeResult()
    try:
        deadline = time.monotonic() + 10
        while not (out.exists() and out.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield result
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        for line in out.read_text().splitlines():
            ms, status, cpu_ms, at = line.split()
            result.latencies_ms.append(float(ms))
            result.statuses.append(int(status))
            result.app_cpu_ms.append(float(cpu_ms))
            result.times.append(float(at))


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) process `pid` used so far, in ms (proc(5): fields 14 and 15 of stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def main(argv: list[str]) -> None:
    url, out, app_pid = argv[0], Path(argv[1]), int(argv[2])
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    with out.open("w", buffering=1) as lines:
        while not stopping:
            began, app_cpu_before = time.perf_counter(), cpu_ms(app_pid)
            try:
                conn.request("GET", "/health")
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                status = 0
            wall = (time.perf_counter() - began) * 1000
            app_cpu = cpu_ms(app_pid) - app_cpu_before
            lines.write(f"{wall:.2f} {status} {app_cpu:.1f} {time.time():.3f}\n")
            time.sleep(INTERVAL_S)


if __name__ == "__main__":
    main(sys.argv[1:])
