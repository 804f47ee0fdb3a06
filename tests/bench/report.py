"""The benchmark report: the machine it ran on, one section per measurement, a JSON file and a table.

Every section carries a `status`: `ok` (figures present), `unavailable` (this machine cannot measure it,
e.g. no Docker engine), `missing` (the code that measures it is not in the repository yet) or `failed`
(the measurement raised; `error` says why). Nothing is left out silently.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

REPORT_PATH = Path("build") / "bench" / "report.json"

Section = dict[str, Any]


def machine() -> dict[str, Any]:
    """nproc, CPU model, memory, OS and Python: what the figures depend on."""
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load],
        "git_commit": _git_commit(),
    }


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def missing(reason: str) -> Section:
    return {"status": "missing", "reason": reason}


def unavailable(reason: str) -> Section:
    return {"status": "unavailable", "reason": reason}


def failed(error: BaseException | str) -> Section:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return {"status": "failed", "error": text}


def run_section(name: str, measure: Callable[[], Section]) -> Section:
    """Run one measurement; an exception becomes a `failed` section instead of ending the run."""
    started = datetime.now(UTC)
    try:
        section = measure()
    except Exception as exc:  # a failed section is reported, the others still run
        section = failed(exc)
    section.setdefault("status", "ok")
    section["wall_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    print(f"[bench] {name}: {section['status']} in {section['wall_s']} s", flush=True)
    return section


def write(report: dict[str, Any], path: Path = REPORT_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    return path


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table(headers: list[str], rows: Iterable[list[Any]]) -> str:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in cells
    ]
    return "\n".join(lines)


def _status_line(name: str, section: Section) -> str | None:
    if section.get("status") == "ok":
        return None
    detail = section.get("reason") or section.get("error") or ""
    return f"{name}: {section.get('status')} — {detail}"


def render(report: dict[str, Any]) -> str:
    """The report as the text table `make bench` prints."""
    out: list[str] = []
    m = report["machine"]
    out.append(
        f"Machine: {m['nproc']} cores, {m['cpu_model']}, {m['memory_gib']} GiB; Python {m['python']}; "
        f"commit {m['git_commit']}; quick={report['quick']}"
    )
    sections = report["sections"]

    http = sections.get("http", {})
    if http.get("status") == "ok":
        out.append(
            "\nHTTP at fixed rates (one uvicorn worker; the ceiling's requests interleaved with each "
            "endpoint's; x = endpoint / ceiling)"
        )
        fixed_headers = ["endpoint", "rate/s", "achieved/s", "p50 ms", "p99 ms", "ceil p50", "ceil p99"]
        fixed_headers += ["x p50", "x p99", "errors", "send lag p99", "gen.sat"]
        fixed_keys = ["path", "rate", "achieved_rps", "p50_ms", "p99_ms", "ceiling_p50_ms", "ceiling_p99_ms"]
        fixed_keys += ["ratio_p50", "ratio_p99", "errors", "send_lag_p99_ms"]
        rows = [
            [r.get(k) for k in fixed_keys] + ["yes" if r.get("generator_saturated") else ""]
            for r in http["fixed_rate"]
        ]
        out.append(table(fixed_headers, rows))
        wrk = http.get("max_throughput")
        if isinstance(wrk, list) and wrk:
            out.append(
                "\nMaximum throughput (wrk, closed loop, 1 thread, 16 connections; ceiling run just before)"
            )
            wrk_keys = ["path", "requests_per_s", "ceiling_requests_per_s", "ratio_rps", "p50_ms", "p99_ms"]
            wrk_keys += ["non_2xx"]
            out.append(
                table(
                    ["endpoint", "req/s", "ceiling req/s", "x ceiling", "p50 ms", "p99 ms", "non-2xx"],
                    [[w.get(k) for k in wrk_keys] for w in wrk],
                )
            )
        elif isinstance(wrk, dict):
            out.append(f"\nMaximum throughput: {wrk.get('status')} — {wrk.get('reason') or wrk.get('error')}")

    for name in ("chat", "accesslog", "infra", "images"):
        section = sections.get(name, {})
        line = _status_line(name, section)
        out.append("")
        if line:
            out.append(line)
            continue
        out.append(f"{name}:")
        out.append(_render_flat(section))
    for name in ("http",):
        line = _status_line(name, sections.get(name, {}))
        if line:
            out.append("\n" + line)
    out.append(f"\nTotal {report['total_s']} s; report: {report['path']}")
    return "\n".join(out)


def _render_flat(section: Section, indent: str = "  ") -> str:
    lines = []
    for key, value in section.items():
        if key in {"status"}:
            continue
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.append(_render_flat(value, indent + "  "))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{indent}{key}:")
            for item in value:
                lines.append(indent + "  - " + ", ".join(f"{k}={_fmt(v)}" for k, v in item.items()))
        else:
            lines.append(f"{indent}{key}: {_fmt(value)}")
    return "\n".join(lines)
