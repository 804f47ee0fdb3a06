"""The proxy image from sidecar/Dockerfile, built on the base image and run against the stand-in."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.analytics.localapi import LOCALAPI_HOST, LocalAPIClient
from tests.analytics.support import SIDECAR, StandInTailscaled
from tests.support.docker import docker
from tests.support.services import free_port, http_answers, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SOCKET_DIR_IN_CONTAINER = "/var/run/tailscale-shared"


@pytest.fixture(scope="module")
def proxy_image(base_image: str) -> str:
    tag = "cf-localapi-proxy:test"
    docker("build", "--quiet", "--build-arg", f"BASE_IMAGE={base_image}", "--tag", tag, str(SIDECAR))
    return tag


@pytest.fixture
def proxy_container(proxy_image: str, tailscaled: StandInTailscaled) -> Iterator[tuple[str, str]]:
    """The proxy with the socket's directory mounted, published on 127.0.0.1 only."""
    name = f"cf-proxy-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    docker(
        "run",
        "--detach",
        "--name",
        name,
        "--volume",
        f"{tailscaled.socket_path.parent}:{SOCKET_DIR_IN_CONTAINER}",
        "--env",
        f"TS_SOCKET={SOCKET_DIR_IN_CONTAINER}/{tailscaled.socket_path.name}",
        "--publish",
        f"127.0.0.1:{port}:8765",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        proxy_image,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: http_answers(f"{url}/localapi/v0/status", 200, headers={"Host": LOCALAPI_HOST}), 30, name
        )
        yield name, url
    finally:
        logs = docker("logs", name, check=False)
        (Path(tailscaled.service.log_path).parent / f"{name}.log").write_text(logs.stdout + logs.stderr)
        docker("rm", "--force", name, check=False)


async def test_the_container_reads_status_as_uid_10001_and_cannot_write(
    proxy_container: tuple[str, str], tailscaled: StandInTailscaled
) -> None:
    name, url = proxy_container
    client = LocalAPIClient(url, 5.0)
    try:
        status = await client.status()
    finally:
        await client.aclose()
    async with httpx.AsyncClient(headers={"Host": LOCALAPI_HOST}) as http:
        write = await http.patch(f"{url}/localapi/v0/prefs", json={"WantRunning": False})
    assert len(status.peer) == 7
    assert write.status_code == 403 and "write access denied" in write.text
    assert docker("exec", name, "id", "-u").stdout.strip() == "10001"
    assert any(line.startswith("localapi: 10001 PATCH /localapi/v0/prefs") for line in tailscaled.requests())


def test_the_image_healthcheck_passes_only_while_tailscaled_answers(
    proxy_container: tuple[str, str], tailscaled: StandInTailscaled
) -> None:
    name, _url = proxy_container
    healthy = docker("exec", name, "/usr/local/bin/localapi-proxy-health", check=False)
    tailscaled.set_mode("down")
    unhealthy = docker("exec", name, "/usr/local/bin/localapi-proxy-health", check=False)
    configured = docker("inspect", "--format", "{{json .Config.Healthcheck.Test}}", name).stdout
    assert healthy.returncode == 0 and unhealthy.returncode != 0
    assert "localapi-proxy-health" in configured
