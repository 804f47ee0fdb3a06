"""HTTP throughput and latency of the app's endpoints against a do-nothing endpoint in the same process.

The app runs under one uvicorn worker with the stand-ins and the sample data (see `app_stack`); the load
comes from separate processes (`http_load` at fixed rates, then `wrk` for the closed-loop maximum).
At each fixed rate an endpoint's requests are interleaved one for one with the ceiling's on the same
schedule, so an endpoint and its baseline are measured in the same seconds of the same machine; wrk runs
the ceiling right before each endpoint.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from tests.bench import http_load
from tests.bench.app_stack import AppStack
from tests.bench.ceiling_app import CEILING_PATH

REPO_ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = REPO_ROOT / "app" / "static"
FIXED_ENDPOINTS = ["/health", "/analytics/devices"]
# A fixed-rate run whose generator sent requests later than this (p99) could not keep its schedule: its
# figures describe the generator (or a starved machine), not the app. Scheduling jitter of a few
# milliseconds on a busy machine is normal and stays well below.
GENERATOR_LAG_LIMIT_MS = 50.0


def plain_get_paths(schema: dict[str, Any]) -> dict[str, set[str]]:
    """GET paths of the OpenAPI schema that need no path or required query parameter, with their tags."""
    found: dict[str, set[str]] = {}
    for path, operations in schema.get("paths", {}).items():
        get = operations.get("get")
        if not get or "{" in path:
            continue
        if any(p.get("required") for p in get.get("parameters", [])):
            continue
        found[path] = set(get.get("tags", []))
    return found


def _without_runtime_values(url: str) -> str:
    """`/bi/weather/forecast?hours=` (the page appends the value as it runs) -> `/bi/weather/forecast`:
    a parameter quoted without its value is left to the endpoint's default."""
    path, _, query = url.partition("?")
    kept = [part for part in query.split("&") if part and not part.endswith("=")]
    return f"{path}?{'&'.join(kept)}" if kept else path


def dashboard_paths(schema_paths: dict[str, set[str]], static_dir: Path = STATIC_DIR) -> list[str]:
    """The data URLs the dashboard page asks for, query included (`/bi/prices?hours=24`): URLs quoted in
    its HTML/JS whose path the schema serves as GET. Chat is measured by the chat benchmark instead."""
    literals: set[str] = set()
    for page in sorted(static_dir.rglob("*")):
        if not page.is_file() or page.suffix not in {".html", ".js"} or "vendor" in page.parts:
            continue
        if "dashboard" not in page.name and page.name not in {"common.js"}:
            continue
        pattern = r"""["'`](/[A-Za-z0-9_\-/]+(?:\?[A-Za-z0-9_=&%.\-]*)?)["'`]"""
        for match in re.finditer(pattern, page.read_text(errors="replace")):
            literals.add(_without_runtime_values(match.group(1)))
    return sorted(
        url
        for url in literals
        if (path := url.split("?", 1)[0].rstrip("/") or "/") in schema_paths
        and not path.startswith("/chat")
        and path not in FIXED_ENDPOINTS
    )


def choose_endpoints(base_url: str) -> tuple[list[str], str]:
    """The endpoints to measure and how the dashboard's were found (said in the report)."""
    schema = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    paths = plain_get_paths(schema)
    polled = dashboard_paths(paths)
    how = "URLs quoted in the dashboard's HTML/JS (app/static) whose path the OpenAPI schema serves as GET"
    if not polled:
        polled = sorted(p for p, tags in paths.items() if "bi" in tags)
        how = "the dashboard quotes no data endpoint yet: every parameter-free GET endpoint tagged 'bi'"
    missing = [p for p in FIXED_ENDPOINTS if p not in paths]
    endpoints = [p for p in FIXED_ENDPOINTS if p in paths] + polled
    if missing:
        how += f"; not served by this app, so not measured: {', '.join(missing)}"
    return endpoints, how


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return round(value / base, 2)


def _row(path: str, result: http_load.LoadResult, ceiling: http_load.LoadResult) -> dict[str, Any]:
    row: dict[str, Any] = {"path": path, **asdict(result)}
    row.pop("url")
    row["ceiling_p50_ms"] = ceiling.p50_ms
    row["ceiling_p99_ms"] = ceiling.p99_ms
    row["ratio_p50"] = _ratio(result.p50_ms, ceiling.p50_ms)
    row["ratio_p99"] = _ratio(result.p99_ms, ceiling.p99_ms)
    row["generator_saturated"] = (result.send_lag_p99_ms or 0) > GENERATOR_LAG_LIMIT_MS
    return row


def measure_app(
    stack: AppStack, *, rates: list[float], duration: float, warmup: float, wrk_seconds: float
) -> dict[str, Any]:
    base = stack.url
    endpoints, how = choose_endpoints(base)
    rows: list[dict[str, Any]] = []
    for rate in rates:
        for path in endpoints:
            result, ceiling = http_load.run_fixed_rate(
                [f"{base}{path}", f"{base}{CEILING_PATH}"], rate, duration, warmup=warmup
            )
            rows.append(_row(path, result, ceiling))
            print(
                f"[bench]   {path} @ {rate:g}/s: p50 {result.p50_ms} ms (ceiling {ceiling.p50_ms}), "
                f"p99 {result.p99_ms} ms (ceiling {ceiling.p99_ms}), errors {result.errors}",
                flush=True,
            )
    section: dict[str, Any] = {
        "server": "uvicorn, 1 worker, started like `python -m app`; sample data loaded; stand-ins running",
        "ceiling": f"{CEILING_PATH}: a trivial JSON endpoint in the same app and process",
        "endpoints_chosen_by": how,
        "absent_standins": stack.absent,
        "load": (
            f"open loop at fixed rates {rates} req/s per endpoint from a separate process (httpx); each "
            f"endpoint's requests interleaved one for one with the ceiling's at the same rate, so both "
            f"figures come from the same seconds; {warmup:g} s warm-up, then {duration:g} s measured; "
            "latency counted from the scheduled send time"
        ),
        "fixed_rate": rows,
        "errors_total": sum(r["errors"] for r in rows),
    }
    section["max_throughput"] = _wrk_section(base, endpoints, wrk_seconds)
    return section


def _wrk_section(base: str, endpoints: list[str], seconds: float) -> list[dict[str, Any]] | dict[str, Any]:
    """wrk on each endpoint, each right after a wrk run on the ceiling (its baseline)."""
    if not http_load.wrk_available():
        return {
            "status": "unavailable",
            "reason": "wrk is not installed (scripts/setup.sh services installs it)",
        }
    results: list[dict[str, Any]] = []
    for path in endpoints:
        ceiling = http_load.run_wrk(f"{base}{CEILING_PATH}", duration=seconds)
        wrk = http_load.run_wrk(f"{base}{path}", duration=seconds)
        row: dict[str, Any] = {"path": path, **asdict(wrk)}
        row.pop("url")
        row["ceiling_requests_per_s"] = ceiling.requests_per_s
        row["ratio_rps"] = _ratio(wrk.requests_per_s, ceiling.requests_per_s)
        results.append(row)
    return results
