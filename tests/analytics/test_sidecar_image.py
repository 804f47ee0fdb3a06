"""The proxy image from sidecar/Dockerfile, built on the base image and run against the stand-in."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.analytics.localapi import LOCALAPI_HOST, LocalAPIClient
from tests.analytics.support import SIDECAR, StandInTailscaled
from tests.infra.harness import CapturedResource, run_stack
from tests.infra.helpers import docker_run_flags
from tests.support.docker import docker
from tests.support.services import free_port, http_answers, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SOCKET_DIR_IN_CONTAINER = "/var/run/tailscale-shared"


@pytest.fixture(scope="module")
def proxy_image(base_image: str) -> str:
    tag = "cf-localapi-proxy:test"
    docker("build", "--quiet", "--build-arg", f"BASE_IMAGE={base_image}", "--tag", tag, str(SIDECAR))
    return tag


@pytest.fixture(scope="module")
def declared_proxy() -> CapturedResource:
    """The proxy container as the prod stack declares it."""
    return run_stack("prod").container("proxy-prod")


@pytest.fixture
def proxy_container(
    proxy_image: str, tailscaled: StandInTailscaled, declared_proxy: CapturedResource
) -> Iterator[tuple[str, str]]:
    """The proxy with the program's confinement and socket mount, published on 127.0.0.1 only."""
    name = f"cf-proxy-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    [socket_mount] = [
        v for v in declared_proxy.inputs["volumes"] if v["containerPath"] == SOCKET_DIR_IN_CONTAINER
    ]
    mode = ":ro" if socket_mount.get("readOnly") else ""
    docker(
        "run",
        "--detach",
        "--name",
        name,
        "--volume",
        f"{tailscaled.socket_path.parent}:{SOCKET_DIR_IN_CONTAINER}{mode}",
        "--env",
        f"TS_SOCKET={SOCKET_DIR_IN_CONTAINER}/{tailscaled.socket_path.name}",
        "--publish",
        f"127.0.0.1:{port}:8765",
        *docker_run_flags(declared_proxy),
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


def test_the_proxy_runs_read_only_without_capabilities_on_a_read_only_socket_mount(
    proxy_container: tuple[str, str],
) -> None:
    # The status request of the fixture went through connect() on the socket: no write access needed.
    name, _url = proxy_container
    status = docker("exec", name, "cat", "/proc/1/status").stdout
    mounts = json.loads(docker("inspect", "--format", "{{json .Mounts}}", name).stdout)
    host_config = json.loads(docker("inspect", "--format", "{{json .HostConfig}}", name).stdout)
    capabilities = dict(line.split(":\t", 1) for line in status.splitlines() if line.startswith("Cap"))
    assert capabilities["CapEff"].strip() == capabilities["CapBnd"].strip() == "0000000000000000"
    [socket_mount] = [m for m in mounts if m["Destination"] == SOCKET_DIR_IN_CONTAINER]
    assert socket_mount["RW"] is False, socket_mount
    assert host_config["ReadonlyRootfs"] is True and host_config["CapDrop"] == ["ALL"]
