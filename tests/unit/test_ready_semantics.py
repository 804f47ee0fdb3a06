"""/ready answers 503 only for what a restart or re-routing can fix: no database, no scheduler."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.context import AppContext
from app.db import Database
from app.main import create_app
from app.settings import Settings


async def _ready(tmp_path: Path, database_url: str, scheduler_enabled: bool) -> httpx.Response:
    settings = Settings(data_dir=tmp_path, scheduler_enabled=scheduler_enabled)
    app = create_app(settings)
    db = Database(database_url)
    try:
        async with httpx.AsyncClient() as http:
            app.state.ctx = AppContext.create(settings, db, http)
            app.state.scheduler = None
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                return await client.get("/ready")
    finally:
        await db.dispose()


async def test_an_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    (tmp_path / "app.db").mkdir()  # a directory where the database file should be
    response = await _ready(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'app.db'}", False)
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert response.json()["database"] is False


async def test_a_scheduler_that_should_run_and_does_not_is_not_ready(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    await db.migrate()
    await db.dispose()
    response = await _ready(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'app.db'}", True)
    assert response.status_code == 503
    assert response.json()["scheduler"]["running"] is False


async def test_missing_upstream_data_is_degraded_but_ready(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    await db.migrate()
    await db.dispose()
    response = await _ready(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'app.db'}", False)
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
