"""The trust boundary on the real Docker engine: the prod stack's `cf-prod` network (its subnet, gateway
and dynamic range), the app with the program's CF_TRUSTED_PROXIES, and three callers claiming to be an
admin: the sidecar at its fixed address (believed), another container on the network, and a process on
the Docker host, whose packets come from the network's gateway (both refused)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.infra.harness import StackRun, run_stack
from tests.infra.helpers import NETWORK, envs
from tests.support.docker import docker
from tests.support.services import http_answers, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ADMIN = "marta@chocolate.example"
ANALYTICS = "/analytics/access-logs?hours=24"


@dataclass
class Network:
    name: str
    app_address: str
    sidecar_address: str


@pytest.fixture(scope="module")
def prod() -> StackRun:
    return run_stack("prod")


@pytest.fixture
def network(prod: StackRun, app_image: str) -> Iterator[Network]:
    """cf-prod as declared, with the app on it (its settings from the program)."""
    [ipam] = prod.named("prod-net", NETWORK).inputs["ipamConfigs"]
    suffix = uuid.uuid4().hex[:8]
    name, app = f"cf-trust-{suffix}", f"cf-trust-app-{suffix}"
    docker(
        "network", "create", "--driver", "bridge", "--subnet", ipam["subnet"],
        "--gateway", ipam["gateway"], "--ip-range", ipam["ipRange"], name,
    )  # fmt: skip
    declared = envs(prod.container("app-prod"))
    environment = {
        "CF_TRUSTED_PROXIES": declared["CF_TRUSTED_PROXIES"],
        "CF_ANALYTICS_ADMINS": json.dumps([ADMIN]),
        "CF_SCHEDULER_ENABLED": "false",
        "CF_REE_BASE_URL": "http://127.0.0.1:9",
        "CF_OPEN_METEO_BASE_URL": "http://127.0.0.1:9",
    }
    [attachment] = prod.container("ts-prod").inputs["networksAdvanced"]
    try:
        docker(
            "run", "--detach", "--name", app, "--network", name, "--read-only", "--tmpfs", "/tmp",
            *[arg for key, value in environment.items() for arg in ("--env", f"{key}={value}")],
            app_image,
        )  # fmt: skip
        address = docker(
            "inspect", "--format", f'{{{{(index .NetworkSettings.Networks "{name}").IPAddress}}}}', app
        ).stdout.strip()
        wait_until(lambda: http_answers(f"http://{address}:8000/health", 200), 60, "the app on cf-prod")
        yield Network(name=name, app_address=address, sidecar_address=attachment["ipv4Address"])
    finally:
        docker("rm", "-f", app, check=False)
        docker("network", "rm", name, check=False)


def _status_from_container(network: Network, image: str, *address: str) -> int:
    """The status an admin's request gets from a container on the network (at `address`, if given)."""
    fixed = ["--ip", address[0]] if address else []
    probe = (
        "import urllib.request, urllib.error\n"
        f"request = urllib.request.Request('http://{network.app_address}:8000{ANALYTICS}', "
        f"headers={{'Tailscale-User-Login': '{ADMIN}'}})\n"
        "try:\n    print(urllib.request.urlopen(request, timeout=10).status)\n"
        "except urllib.error.HTTPError as error:\n    print(error.code)\n"
    )
    run = docker("run", "--rm", "--network", network.name, *fixed, image, "python3", "-c", probe)
    return int(run.stdout.strip())


def test_only_the_sidecars_fixed_address_is_believed_never_the_docker_host(
    network: Network, base_image: str, prod: StackRun
) -> None:
    [ipam] = prod.named("prod-net", NETWORK).inputs["ipamConfigs"]
    from_host = httpx.get(
        f"http://{network.app_address}:8000{ANALYTICS}", headers={"Tailscale-User-Login": ADMIN}, timeout=10
    )
    from_other_container = _status_from_container(network, base_image)
    from_sidecar = _status_from_container(network, base_image, network.sidecar_address)
    assert from_host.status_code == 403, f"a process on the host, arriving from {ipam['gateway']}"
    assert from_other_container == 403
    assert from_sidecar == 200
