"""Stand-in REE and Open-Meteo servers (real processes, real sockets) and an app context pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.context import AppContext
from app.db import Database
from app.settings import Settings
from tests.support.services import RunningService, free_port, http_answers, python_argv, service

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class StandIn:
    """A running stand-in and its control endpoints."""

    running: RunningService

    @property
    def url(self) -> str:
        return self.running.url

    def set_mode(self, mode: str, times: int | None = None, delay_seconds: float | None = None) -> None:
        control: dict[str, Any] = {"mode": mode}
        if times is not None:
            control["times"] = times
        if delay_seconds is not None:
            control["delay_seconds"] = delay_seconds
        httpx.post(f"{self.url}/control/mode", json=control).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/control/requests")
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def reset(self) -> None:
        httpx.post(f"{self.url}/control/reset").raise_for_status()


def _start(name: str, module: str, log_dir: Path) -> Iterator[StandIn]:
    port = free_port()
    with service(
        name,
        python_argv("-m", module, "--port", str(port)),
        port=port,
        log_dir=log_dir,
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/control/requests", 200),
    ) as running:
        yield StandIn(running)


@pytest.fixture(scope="session")
def ree_server(artifacts_dir: Path) -> Iterator[StandIn]:
    yield from _start("ree-standin", "tests.standins.ree", artifacts_dir / "bi")


@pytest.fixture(scope="session")
def open_meteo_server(artifacts_dir: Path) -> Iterator[StandIn]:
    yield from _start("open-meteo-standin", "tests.standins.open_meteo", artifacts_dir / "bi")


@pytest.fixture
def ree(ree_server: StandIn) -> Iterator[StandIn]:
    ree_server.reset()
    yield ree_server
    ree_server.reset()


@pytest.fixture
def open_meteo(open_meteo_server: StandIn) -> Iterator[StandIn]:
    open_meteo_server.reset()
    yield open_meteo_server
    open_meteo_server.reset()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def settings(tmp_path: Path, ree: StandIn, open_meteo: StandIn) -> Settings:
    return Settings(
        data_dir=tmp_path,
        ree_base_url=ree.url,
        open_meteo_base_url=open_meteo.url,
        http_timeout_seconds=2.0,
        backfill_max_days=3,
    )


@pytest.fixture
async def ctx(settings: Settings, db: Database, http: httpx.AsyncClient) -> AsyncIterator[AppContext]:
    context = AppContext.create(settings, db, http)
    yield context
    await context.aclose()


def app_argv(port: int) -> list[str]:
    return python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port))


def app_env(data_dir: Path, ree: StandIn, open_meteo: StandIn, **overrides: str) -> dict[str, str]:
    """Environment of an app process whose upstreams are the stand-ins."""
    return {
        "CF_DATA_DIR": str(data_dir),
        "CF_REE_BASE_URL": ree.url,
        "CF_OPEN_METEO_BASE_URL": open_meteo.url,
        "CF_AEMET_API_KEY": "",
        "CF_LOG_FORMAT": "json",
        **overrides,
    }
