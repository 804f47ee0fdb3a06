"""Images travel through a real registry (Debian's docker-registry, htpasswd auth) and come back by digest."""

from __future__ import annotations

import httpx
import pytest

from tests.containers.conftest import APP_REPOSITORY
from tests.containers.registry import Registry
from tests.support.docker import docker, image_exists

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]


def test_the_registry_refuses_anonymous_clients(registry: Registry) -> None:
    assert httpx.get(f"{registry.url}/v2/").status_code == 401
    wrong = httpx.get(f"{registry.url}/v2/", auth=(registry.username, "not-the-password"))
    assert wrong.status_code == 401
    assert httpx.get(f"{registry.url}/v2/", auth=(registry.username, registry.password)).status_code == 200


def test_a_pushed_app_image_is_pulled_back_by_digest(
    registry: Registry, app_image: str, pushed_app: tuple[str, str]
) -> None:
    reference, digest = pushed_app
    assert registry.manifest_digest(APP_REPOSITORY, "good") == digest
    assert registry.manifest_digest(APP_REPOSITORY, digest) == digest
    assert not image_exists(reference), "the pushed name was removed before the pull"

    docker("pull", reference)

    pulled = docker("image", "inspect", "--format", "{{.Id}}", reference).stdout.strip()
    built = docker("image", "inspect", "--format", "{{.Id}}", app_image).stdout.strip()
    assert pulled == built, "the image pulled by digest is the image that was built"


def test_the_sidecar_image_goes_through_the_registry_too(registry: Registry, sidecar_image: str) -> None:
    remote = f"{registry.host}/chocolate-factory/localapi-proxy:test"
    docker("tag", sidecar_image, remote)
    pushed = docker("push", remote).stdout
    docker("rmi", remote)
    digest = next(word for word in pushed.split() if word.startswith("sha256:"))
    reference = f"{registry.host}/chocolate-factory/localapi-proxy@{digest}"
    try:
        docker("pull", reference)
        assert registry.manifest_digest("chocolate-factory/localapi-proxy", "test") == digest
    finally:
        docker("rmi", reference, check=False)
