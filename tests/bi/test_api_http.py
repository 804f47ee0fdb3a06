"""The app served by `python -m app` (uvicorn) on a real port, its upstreams the stand-ins."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.bi.tariff import SPAIN as MADRID
from app.bi.tariff import tariff_period
from tests.bi.conftest import REPO_ROOT, StandIn, app_argv, app_env
from tests.standins.ree import pvpc_eur_mwh
from tests.support.services import RunningService, free_port, http_answers, python_argv, service, wait_until


@pytest.fixture
def app(tmp_path: Path, ree: StandIn, open_meteo: StandIn) -> Iterator[RunningService]:
    port = free_port()
    env = app_env(
        tmp_path / "data",
        ree,
        open_meteo,
        CF_ENVIRONMENT="dev",
        CF_GIT_COMMIT="abc1234",
        CF_TRUSTED_PROXIES='["127.0.0.1"]',
        CF_PRODUCTION_WRITERS='["ana@example.com"]',
    )
    with service(
        "app-http",
        app_argv(port),
        port=port,
        log_dir=tmp_path,
        env=env,
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as running:
        yield running


def _ready(app: RunningService) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{app.url}/ready").json()
    return body


def _source(ready: dict[str, Any], dataset: str, source: str) -> dict[str, Any]:
    return next(s for s in ready["sources"] if (s["dataset"], s["source"]) == (dataset, source))


def test_ready_turns_ready_once_the_scheduler_has_fetched_every_source(app: RunningService) -> None:
    wait_until(lambda: _ready(app)["status"] == "ready", 30, "/ready status ready")
    response = httpx.get(f"{app.url}/ready")
    assert response.status_code == 200
    ready = response.json()
    assert ready["database"] is True
    assert ready["scheduler"] == {**ready["scheduler"], "enabled": True, "running": True, "holds_lease": True}
    assert _source(ready, "prices", "ree")["status"] == "fresh"
    assert _source(ready, "weather", "open-meteo")["status"] == "fresh"
    assert _source(ready, "weather", "aemet")["status"] == "disabled", "no AEMET key configured"
    assert _source(ready, "prices", "ree")["age_seconds"] < 60

    jobs = httpx.get(f"{app.url}/scheduler/jobs").json()
    by_name = {job["name"]: job for job in jobs["jobs"]}
    bi_jobs = [by_name[name] for name in ("ingest-prices", "ingest-weather", "backfill-gaps")]
    for job in bi_jobs:
        assert job["last_run"]["status"] == "ok", job
        assert job["last_error"] is None
        assert datetime.fromisoformat(job["next_run_at"]) > datetime.now(UTC)
    assert jobs["lease"]["holder"] == jobs["scheduler"]["holder"]

    metrics = httpx.get(f"{app.url}/metrics").text
    assert 'cf_job_runs_total{job="ingest-prices",outcome="ok"}' in metrics
    assert 'cf_ingestion_lag_seconds{dataset="prices",source="ree"}' in metrics
    assert 'cf_http_requests_total{method="GET",route="/ready",status="200"}' in metrics


def test_dashboard_queries_answer_from_the_stored_prices_and_weather(app: RunningService) -> None:
    wait_until(lambda: _ready(app)["status"] == "ready", 30, "/ready status ready")
    now = httpx.get(f"{app.url}/bi/prices/current").json()
    hour = datetime.fromisoformat(now["ts"])
    assert now["price_eur_kwh"] == pytest.approx(pvpc_eur_mwh(hour) / 1000)
    assert now["tariff_period"] == tariff_period(hour)

    ahead = httpx.get(f"{app.url}/bi/prices", params={"hours": 24}).json()
    assert ahead["prices"][0]["ts"] == now["ts"]
    behind = httpx.get(f"{app.url}/bi/prices", params={"hours": 24, "direction": "last"}).json()
    assert behind["prices"][-1]["ts"] == now["ts"]

    windows = httpx.get(f"{app.url}/bi/prices/cheapest-windows", params={"hours": 24, "duration": 3}).json()
    prices = [p["price_eur_kwh"] for p in ahead["prices"]]
    cheapest_possible = min(sum(prices[i : i + 3]) / 3 for i in range(len(prices) - 2))
    assert windows["windows"][0]["avg_price_eur_kwh"] == pytest.approx(cheapest_possible)

    stats = httpx.get(f"{app.url}/bi/prices/stats", params={"days": 2}).json()
    assert (
        stats["hours"] > 24
        and stats["min_price_eur_kwh"] <= stats["avg_price_eur_kwh"] <= stats["max_price_eur_kwh"]
    )

    weather = httpx.get(f"{app.url}/bi/weather/current").json()
    assert weather["source"] == "open-meteo"
    assert (weather["comfort_min_c"], weather["comfort_max_c"]) == (15.0, 22.0)
    expected = (
        "below" if weather["temperature_c"] < 15 else "above" if weather["temperature_c"] > 22 else "within"
    )
    assert weather["comfort"] == expected


def test_batches_recorded_over_http_appear_in_the_production_summary(app: RunningService) -> None:
    writer = {"Tailscale-User-Login": "ana@example.com"}
    batch = {
        "started_at": "2026-11-02T08:00:00+01:00",
        "ended_at": "2026-11-02T12:00:00+01:00",
        "product": "dark 70%",
        "kg": 400,
        "kwh": 220,
    }
    created = httpx.post(f"{app.url}/production/batches", json=batch, headers=writer)
    assert created.status_code == 201 and created.json()["duplicate"] is False
    again = httpx.post(f"{app.url}/production/batches", json=batch, headers=writer)
    assert again.json() == {"id": None, "duplicate": True}
    bad = httpx.post(
        f"{app.url}/production/batches",
        json={**batch, "ended_at": batch["started_at"], "kg": 0},
        headers=writer,
    )
    assert bad.status_code == 422
    assert {tuple(e["loc"][-1:]) for e in bad.json()["detail"]} >= {("kg",)}

    period = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-03T00:00:00Z"}
    listed = httpx.get(f"{app.url}/production/batches", params=period).json()
    assert [(b["product"], b["source"]) for b in listed["batches"]] == [("dark 70%", "api")]
    summary = httpx.get(f"{app.url}/bi/production/summary", params=period).json()
    assert (summary["batches"], summary["kg"], summary["kwh"]) == (1, 400, 220)
    assert summary["kwh_per_kg"] == pytest.approx(0.55)
    naive = httpx.get(
        f"{app.url}/bi/production/summary", params={"start": "2026-11-01T00:00", "end": "2026-11-03T00:00"}
    )
    assert naive.status_code == 422 and "UTC offset" in naive.text


def test_version_docs_and_openapi_describe_the_running_app(app: RunningService) -> None:
    version = httpx.get(f"{app.url}/version").json()
    assert (version["environment"], version["git_commit"]) == ("dev", "abc1234")
    assert httpx.get(f"{app.url}/docs").status_code == 200
    paths = httpx.get(f"{app.url}/openapi.json").json()["paths"]
    for path in (
        "/health",
        "/ready",
        "/version",
        "/metrics",
        "/scheduler/jobs",
        "/production/batches",
        "/bi/prices/current",
    ):
        assert path in paths


def test_a_failing_upstream_shows_as_a_job_error_and_a_metric(
    tmp_path: Path, ree: StandIn, open_meteo: StandIn
) -> None:
    ree.set_mode("server_error")
    port = free_port()
    with service(
        "app-failing",
        app_argv(port),
        port=port,
        log_dir=tmp_path,
        env=app_env(tmp_path / "data", ree, open_meteo),
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as app:

        def prices_job() -> dict[str, Any]:
            jobs = httpx.get(f"{app.url}/scheduler/jobs").json()["jobs"]
            job: dict[str, Any] = next(j for j in jobs if j["name"] == "ingest-prices")
            return job

        wait_until(
            lambda: prices_job()["last_run"] is not None and prices_job()["last_run"]["status"] != "running",
            30,
            "a prices run",
        )
        job = prices_job()
        assert job["last_error"]["status"] == "error"
        assert "HTTP 500" in job["last_error"]["detail"]
        assert job["failures"] == 1
        metrics = httpx.get(f"{app.url}/metrics").text
        assert 'cf_job_failures_total{job="ingest-prices"} 1.0' in metrics
        assert 'cf_ingestion_rejected_total{reason="http_status",source="ree"}' in metrics
        ready = httpx.get(f"{app.url}/ready")
        assert ready.status_code == 200, "an upstream outage does not make the app unready"
        assert _source(ready.json(), "prices", "ree")["status"] == "empty"
        assert ready.json()["status"] == "degraded"
    assert '"level": "WARNING"' in app.log() and "upstream response rejected" in app.log()


@contextmanager
def _sample_app(tmp_path: Path, **env: str) -> Iterator[RunningService]:
    """`python -m app.bi.sample_data --days 10`, then the app on that database, its upstreams unreachable."""
    data_dir = tmp_path / "data"
    loaded = subprocess.run(
        python_argv("-m", "app.bi.sample_data", "--days", "10"),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "CF_DATA_DIR": str(data_dir)},
        timeout=60,
        check=True,
    )
    assert "SAMPLE data loaded" in loaded.stdout
    port = free_port()
    unreachable = f"http://127.0.0.1:{free_port()}"
    env = {
        "CF_DATA_DIR": str(data_dir),
        "CF_REE_BASE_URL": unreachable,
        "CF_OPEN_METEO_BASE_URL": unreachable,
        **env,
    }
    with service(
        "app-sample",
        app_argv(port),
        port=port,
        log_dir=tmp_path,
        env=env,
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as app:
        yield app


def test_sample_data_command_fills_the_dashboard_without_any_upstream(tmp_path: Path) -> None:
    with _sample_app(tmp_path) as app:
        for path in ("/bi/prices/current", "/bi/weather/current"):
            response = httpx.get(f"{app.url}{path}")
            assert response.status_code == 200, path
            assert response.json()["source"] == "sample"
        summary = httpx.get(f"{app.url}/bi/production/summary", params={"days": 7}).json()
        assert summary["batches"] > 0 and summary["eur_per_kg"] is not None
        ready = httpx.get(f"{app.url}/ready").json()
        sample = [s for s in ready["sources"] if s["source"] == "sample"]
        assert {s["dataset"] for s in sample} == {"prices", "weather", "production"}
        assert {s["status"] for s in sample} == {"sample"}


def test_prices_of_a_period_forecast_and_windows_of_the_chat_length(tmp_path: Path) -> None:
    with _sample_app(tmp_path, CF_CHAT_BATCH_HOURS="4") as app:
        # A whole Madrid day (25 hours on the October DST change, 23 in March, else 24).
        day = datetime.now(MADRID).date() - timedelta(days=2)
        start = datetime.combine(day, time(0), MADRID)
        end = datetime.combine(day + timedelta(days=1), time(0), MADRID)
        series = httpx.get(
            f"{app.url}/bi/prices", params={"start": start.isoformat(), "end": end.isoformat()}
        ).json()
        prices = [p["price_eur_kwh"] for p in series["prices"]]
        assert len(prices) == (end - start) / timedelta(hours=1)
        assert series["min_price_eur_kwh"] == min(prices) and series["max_price_eur_kwh"] == max(prices)
        assert series["avg_price_eur_kwh"] == pytest.approx(sum(prices) / len(prices))
        too_long = httpx.get(
            f"{app.url}/bi/prices",
            params={"start": start.isoformat(), "end": (start + timedelta(days=94)).isoformat()},
        )
        assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["query", "end"]

        windows = httpx.get(f"{app.url}/bi/prices/cheapest-windows").json()
        assert windows["duration_hours"] == 4 and all(w["hours"] == 4 for w in windows["windows"])

        forecast = httpx.get(f"{app.url}/bi/weather/forecast").json()
        temperatures = [h["temperature_c"] for h in forecast["hours"]]
        assert len(temperatures) == 48
        assert forecast["hours_below"] == sum(1 for t in temperatures if t < 15)
        assert forecast["hours_above"] == sum(1 for t in temperatures if t > 22)
