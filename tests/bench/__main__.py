"""`make bench` (`python -m tests.bench`): measure speed and memory, write build/bench/report.json.

Environment knobs (all optional):
    BENCH_QUICK=1            shorter runs and a small access log, for a quick check (figures not comparable)
    BENCH_ONLY=http,chat     run only these sections (http, chat, accesslog, infra, images)
    BENCH_RATES=20,100       fixed request rates of the HTTP section, requests per second per endpoint
    BENCH_ACCESSLOG_BYTES=N  size of the access log to ingest (default 1 GiB; 64 MiB when quick)

Exit status: 0 when every section measured or said why it could not; 1 when a section failed.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench import images as images_bench
from tests.bench import infra as infra_bench
from tests.bench import report
from tests.bench.app_http import measure_app
from tests.bench.app_stack import module_exists, running_app

SECTIONS = ("http", "chat", "accesslog", "infra", "images")
GIB = 2**30


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def _rates(quick: bool) -> list[float]:
    raw = os.environ.get("BENCH_RATES")
    if raw:
        return [float(x) for x in raw.split(",") if x.strip()]
    return [50.0] if quick else [20.0, 100.0]


def http_section(quick: bool) -> report.Section:
    with tempfile.TemporaryDirectory(prefix="cf-bench-") as tmp, running_app(Path(tmp)) as stack:
        return measure_app(
            stack,
            rates=_rates(quick),
            duration=2.0 if quick else 8.0,
            warmup=0.5 if quick else 1.0,
            wrk_seconds=2.0 if quick else 3.0,
        )


def external_section(module: str, function: str, *args: Any) -> report.Section:
    """Call a measurement that another part of the project provides; say so when it does not exist."""
    if not module_exists(module):
        return report.missing(f"{module}.{function}() is not in the repository: this figure was not measured")
    run = getattr(importlib.import_module(module), function, None)
    if run is None:
        return report.missing(f"{module} has no {function}(): this figure was not measured")
    result = run(*args)
    if not isinstance(result, dict):
        return report.failed(f"{module}.{function}() returned {type(result).__name__}, expected a dict")
    return dict(result)


def accesslog_size(quick: bool) -> int:
    raw = os.environ.get("BENCH_ACCESSLOG_BYTES")
    if raw:
        return int(raw)
    return 64 * 2**20 if quick else GIB


def main() -> int:
    quick = _env_flag("BENCH_QUICK")
    only = {s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()} or set(SECTIONS)
    unknown = only - set(SECTIONS)
    if unknown:
        print(
            f"BENCH_ONLY names unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}",
            file=sys.stderr,
        )
        return 2
    began = time.perf_counter()
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": report.machine(),
        "sections": {},
    }
    measurements = {
        "http": lambda: http_section(quick),
        "chat": lambda: external_section("tests.bench.chat", "run_chat_bench"),
        "accesslog": lambda: external_section(
            "tests.bench.accesslog", "run_accesslog_bench", accesslog_size(quick)
        ),
        "infra": infra_bench.measure,
        "images": images_bench.measure,
    }
    for name in SECTIONS:
        if name in only:
            result["sections"][name] = report.run_section(name, measurements[name])
        else:
            result["sections"][name] = {"status": "skipped", "reason": "not in BENCH_ONLY"}
    result["total_s"] = round(time.perf_counter() - began, 1)
    path = report.write(result)
    result["path"] = str(path)
    print()
    print(report.render(result))
    return 1 if any(s.get("status") == "failed" for s in result["sections"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
