"""Images built once per session on the base image, a real registry, and the smoke topology."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.deploy.image import push_image
from tests.containers.registry import Registry, running_registry
from tests.containers.topology import Topology, smoke_topology
from tests.support.docker import docker
from tests.support.images import build_app_image, build_sidecar_image

APP_REPOSITORY = "chocolate-factory/app"


@pytest.fixture(scope="session")
def app_version() -> str:
    return f"good-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def app_image(base_image: str, app_version: str) -> Iterator[str]:
    """The app image of this session (its version is new each session; the layers come from cache)."""
    tag = build_app_image(base_image, version=app_version)
    yield tag
    docker("rmi", tag, check=False)


@pytest.fixture(scope="session")
def broken_app_image(app_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app image without its HTML pages: it starts and is healthy, but the pages are gone."""
    context = tmp_path_factory.mktemp("broken-image")
    (context / "Dockerfile").write_text(
        f"FROM {app_image}\n"
        "USER root\n"
        "RUN find /opt/venv -path '*/app/static/*.html' -delete\n"
        "USER 10001:10001\n"
    )
    tag = f"{app_image}-broken"
    docker("build", "--quiet", "--tag", tag, str(context))
    yield tag
    docker("rmi", tag, check=False)


@pytest.fixture(scope="session")
def sidecar_image(base_image: str) -> str:
    return build_sidecar_image(base_image)


@pytest.fixture(scope="session")
def docker_config_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A DOCKER_CONFIG of this session's own, so `docker login` leaves the user's config alone."""
    path = tmp_path_factory.mktemp("docker-config")
    previous = os.environ.get("DOCKER_CONFIG")
    os.environ["DOCKER_CONFIG"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("DOCKER_CONFIG", None)
    else:
        os.environ["DOCKER_CONFIG"] = previous


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, docker_config_dir: Path) -> Iterator[Registry]:
    with running_registry(tmp_path_factory.mktemp("registry")) as running:
        docker(
            "login", running.host, "--username", running.username, "--password-stdin",
            input=running.password.encode(),
        )  # fmt: skip
        yield running
        docker("logout", running.host, check=False)


def push(registry: Registry, image: str, tag: str) -> tuple[str, str]:
    """Push `image` as `<registry>/chocolate-factory/app:<tag>`; returns (reference by digest, digest)."""
    remote = f"{registry.host}/{APP_REPOSITORY}:{tag}"
    docker("tag", image, remote)
    digest = push_image(remote)
    docker("rmi", remote)
    return f"{registry.host}/{APP_REPOSITORY}@{digest}", digest


@pytest.fixture(scope="session")
def pushed_app(registry: Registry, app_image: str) -> Iterator[tuple[str, str]]:
    reference, digest = push(registry, app_image, "good")
    yield reference, digest
    docker("rmi", reference, check=False)


@pytest.fixture(scope="session")
def pushed_broken_app(registry: Registry, broken_app_image: str) -> Iterator[tuple[str, str]]:
    reference, digest = push(registry, broken_app_image, "broken")
    yield reference, digest
    docker("rmi", reference, check=False)


@pytest.fixture
def topology(base_image: str, sidecar_image: str, repo_root: Path) -> Iterator[Topology]:
    with smoke_topology(base_image, sidecar_image, repo_root) as running:
        yield running
