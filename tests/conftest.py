"""Shared fixtures. Tests that need a service are marked; a missing service fails the run, loudly.

To run a layer on a machine without that service, deselect it: `pytest -m "not docker"`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import docker as docker_support
from tests.support.postgres import PostgresCluster, throwaway_cluster
from tests.support.requirements import SERVICE_CHECKS, missing_services

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO_ROOT / "build" / "test-artifacts"


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)
    needed = {
        marker.name for item in items for marker in item.iter_markers() if marker.name in SERVICE_CHECKS
    }
    missing = missing_services(needed)
    if missing:
        raise pytest.UsageError(
            "the selected tests need services this machine lacks: "
            + "; ".join(missing)
            + ". Run `make test` (it installs and starts them), or deselect them with -m."
        )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[None]:
    """A running Docker engine; the `docker` marker makes its absence fail the run at collection."""
    if not docker_support.engine_available():
        pytest.fail("no Docker engine answers: run `bash scripts/setup.sh services`")
    yield


@pytest.fixture(scope="session")
def base_image(docker_engine: None) -> str:
    """Tag of the Debian bookworm base image with Python, built once per machine."""
    return docker_support.build_base_image()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster for the whole session, deleted at its end."""
    with throwaway_cluster() as cluster:
        yield cluster


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


_database_numbers = itertools.count(1)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend in turn: a SQLite file, or a fresh PostgreSQL database.

    A test that takes this fixture runs twice and is marked `database` (`-m database` selects them).
    """
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"t{next(_database_numbers)}_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    yield cluster.create_database(name)
    cluster.drop_database(name)
