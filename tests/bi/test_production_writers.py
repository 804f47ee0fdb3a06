"""Production writes need a writer of CF_PRODUCTION_WRITERS, and each batch records who wrote it and when.

The app runs under `python -m app` on a real port; the trusted proxy is this machine's loopback address,
standing where the web container (nginx behind `tailscale serve`) stands in a deployment.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.bi.conftest import REPO_ROOT, app_argv
from tests.support.services import RunningService, free_port, http_answers, service

LOGIN = "Tailscale-User-Login"
BATCH = {
    "started_at": "2026-11-02T08:00:00+01:00",
    "ended_at": "2026-11-02T12:00:00+01:00",
    "product": "dark 70%",
    "kg": 400,
    "kwh": 220,
}
PERIOD = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-03T00:00:00Z"}
BEHIND_THE_SIDECAR = {
    "CF_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
    "CF_TAILNET_GROUPS": json.dumps(
        {"group:admins": ["ana@example.com"], "group:dashboard": ["eve@example.com"]}
    ),
    "CF_PRODUCTION_WRITERS": json.dumps(["group:admins", "Luis@Example.com"]),
    "CF_ANALYTICS_ADMINS": json.dumps(["ana@example.com"]),
}


@contextmanager
def running_app(tmp_path: Path, env: dict[str, str]) -> Iterator[RunningService]:
    port = free_port()
    with service(
        "app-writers",
        app_argv(port),
        port=port,
        log_dir=tmp_path,
        env={"CF_DATA_DIR": str(tmp_path / "data"), "CF_SCHEDULER_ENABLED": "false", **env},
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as running:
        yield running


def stored(tmp_path: Path) -> list[tuple[str, str | None, str]]:
    with sqlite3.connect(tmp_path / "data" / "app.db") as conn:
        return conn.execute(
            "SELECT product, written_by, created_at FROM production_batches ORDER BY id"
        ).fetchall()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[RunningService]:
    with running_app(tmp_path, BEHIND_THE_SIDECAR) as running:
        yield running


def test_anonymous_tagged_and_unlisted_peers_cannot_write_and_are_told_which_setting(
    app: RunningService, tmp_path: Path
) -> None:
    refusals = {
        "tagged device (no login)": {},
        "unlisted login": {LOGIN: "eve@example.com"},
    }
    for who, headers in refusals.items():
        response = httpx.post(f"{app.url}/production/batches", json=BATCH, headers=headers)
        assert response.status_code == 403, who
        assert "CF_PRODUCTION_WRITERS" in response.json()["detail"], who
    assert stored(tmp_path) == []


def test_a_peer_that_is_not_the_trusted_proxy_cannot_write_with_a_forged_login(tmp_path: Path) -> None:
    with running_app(
        tmp_path, {**BEHIND_THE_SIDECAR, "CF_TRUSTED_PROXIES": json.dumps(["10.99.0.2"])}
    ) as app:
        response = httpx.post(f"{app.url}/production/batches", json=BATCH, headers={LOGIN: "ana@example.com"})
        assert response.status_code == 403
        assert "CF_PRODUCTION_WRITERS" in response.json()["detail"]
        assert "CF_PRODUCTION_LOCAL_WRITER" in response.json()["detail"]
    assert stored(tmp_path) == []


def test_a_batch_records_its_writer_and_when_and_only_admins_see_the_writer(
    app: RunningService, tmp_path: Path
) -> None:
    before = datetime.now(UTC)
    by_group = httpx.post(f"{app.url}/production/batches", json=BATCH, headers={LOGIN: "ana@example.com"})
    assert by_group.status_code == 201, by_group.text
    by_login = httpx.post(
        f"{app.url}/production/batches",
        json={**BATCH, "product": "milk 35%"},
        headers={LOGIN: "luis@example.com"},
    )
    assert by_login.status_code == 201, "logins match case-insensitively, as Tailscale's do"
    duplicate = httpx.post(f"{app.url}/production/batches", json=BATCH, headers={LOGIN: "luis@example.com"})
    assert duplicate.json() == {"id": None, "duplicate": True}

    rows = stored(tmp_path)
    assert [(product, writer) for product, writer, _at in rows] == [
        ("dark 70%", "ana@example.com"),
        ("milk 35%", "luis@example.com"),
    ], "a duplicate keeps its first writer"

    as_admin = httpx.get(f"{app.url}/production/batches", params=PERIOD, headers={LOGIN: "ana@example.com"})
    listed = {b["product"]: b for b in as_admin.json()["batches"]}
    assert listed["dark 70%"]["written_by"] == "ana@example.com"
    assert datetime.fromisoformat(listed["dark 70%"]["written_at"]) >= before.replace(microsecond=0)
    as_viewer = httpx.get(f"{app.url}/production/batches", params=PERIOD, headers={LOGIN: "eve@example.com"})
    assert {b["written_by"] for b in as_viewer.json()["batches"]} == {None}, "logins are for admins"
    assert all(b["written_at"] for b in as_viewer.json()["batches"])


def test_without_a_tailnet_the_local_writer_writes_from_this_machine(tmp_path: Path) -> None:
    with running_app(tmp_path, {"CF_PRODUCTION_LOCAL_WRITER": "local-operator"}) as app:
        response = httpx.post(f"{app.url}/production/batches", json=BATCH, headers={LOGIN: "ana@example.com"})
        assert response.status_code == 201, response.text
    assert [(product, writer) for product, writer, _at in stored(tmp_path)] == [
        ("dark 70%", "local-operator")
    ]


def test_an_unknown_group_in_the_writers_stops_the_app_naming_both_settings(tmp_path: Path) -> None:
    from app.settings import Settings

    with pytest.raises(ValueError, match="CF_PRODUCTION_WRITERS names group:ops.*CF_TAILNET_GROUPS"):
        Settings(production_writers=["group:ops"], tailnet_groups={"group:admins": ["ana@example.com"]})


def test_a_writer_longer_than_the_stored_column_is_refused_before_anything_is_written() -> None:
    from app.bi.writers import WriterRefused, check_writer
    from app.settings import Settings

    long_login = "a" * 400 + "@example.com"
    with pytest.raises(WriterRefused, match="longer than 320 characters"):
        check_writer(long_login, Settings(production_writers=[long_login]))
