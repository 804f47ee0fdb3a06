"""The app believes identity headers from exactly one address: the web container's, fixed by the program.

The `cf-<env>` network's gateway is the Docker host: trusting the network's CIDR would make every
process on the node an admin. nginx listens where Tailscale's userspace forwarding of tailnet traffic
that `serve` does not own (always to 127.0.0.1:<port>) cannot reach it.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import yaml

from app.settings import Settings
from infra.config import ConfigError, load_stack, read_stack_file
from tests.infra.harness import StackRun
from tests.infra.helpers import NETWORK, envs, uploads


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_app_trusts_only_the_sidecars_fixed_address_never_the_network(
    runs: dict[str, StackRun], stack: str
) -> None:
    run = runs[stack]
    app, sidecar = run.container(f"app-{stack}"), run.container(f"ts-{stack}")
    [ipam] = run.named(f"{stack}-net", NETWORK).inputs["ipamConfigs"]
    subnet, gateway = ipaddress.ip_network(ipam["subnet"]), ipaddress.ip_address(ipam["gateway"])
    dynamic = ipaddress.ip_network(ipam["ipRange"])

    trusted = json.loads(envs(app)["CF_TRUSTED_PROXIES"])
    [attachment] = sidecar.inputs["networksAdvanced"]
    assert trusted == [attachment["ipv4Address"]], "the app trusts the address the sidecar is given"
    address = ipaddress.ip_address(trusted[0])
    assert address in subnet and address != gateway, "the Docker host's gateway is never trusted"
    assert address not in dynamic, "no other container can be handed the trusted address"
    assert Settings(trusted_proxies=trusted).trusted_proxy_networks[0].num_addresses == 1
    web = run.container(f"web-{stack}")
    assert web.inputs["networkMode"] == f"container:ts-{stack}", "nginx speaks from the sidecar's address"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_nginx_listens_only_where_serve_proxies_out_of_reach_of_tailnet_forwarding(
    runs: dict[str, StackRun], stack: str
) -> None:
    run = runs[stack]
    web, sidecar = run.container(f"web-{stack}"), run.container(f"ts-{stack}")
    serve = json.loads(uploads(run, sidecar)["/config/serve.json"]["content"])
    [site] = serve["Web"].values()
    proxied = site["Handlers"]["/"]["Proxy"]
    listen = envs(web)["CF_NGINX_LISTEN"]
    assert proxied == f"http://{listen}"
    host = listen.rsplit(":", 1)[0]
    assert ipaddress.ip_address(host).is_loopback and host != "127.0.0.1", (
        "tailscaled forwards tailnet connections to ports serve does not own to 127.0.0.1"
    )
    assert web.inputs["healthcheck"]["tests"][-1] == f"http://{listen}/health"


def _stack_with(tmp_path: Path, change: dict[str, object]) -> Path:
    config = read_stack_file(Path("stacks/Pulumi.prod.yaml"))
    config.update(change)
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


def test_a_stack_file_cannot_widen_the_trust_to_a_network(tmp_path: Path) -> None:
    app = read_stack_file(Path("stacks/Pulumi.prod.yaml"))["chocolate-factory:app"]
    env = {**app.get("env", {}), "CF_TRUSTED_PROXIES": '["10.213.0.0/24"]'}
    with pytest.raises(ConfigError) as caught:
        load_stack("prod", _stack_with(tmp_path, {"chocolate-factory:app": {**app, "env": env}}))
    [problem] = caught.value.problems
    assert problem.startswith("chocolate-factory:app.env.CF_TRUSTED_PROXIES: ['10.213.0.0/24'] spans more")
    assert str(caught.value).startswith(f"{tmp_path}/Pulumi.prod.yaml: ")


def test_an_environment_subnet_must_be_a_private_ipv4_network(tmp_path: Path) -> None:
    environments = read_stack_file(Path("stacks/Pulumi.prod.yaml"))["chocolate-factory:environments"]
    broken = [{**environments[0], "subnet": "8.8.8.0/24"}]
    with pytest.raises(ConfigError) as caught:
        load_stack("prod", _stack_with(tmp_path, {"chocolate-factory:environments": broken}))
    [problem] = caught.value.problems
    assert problem.startswith("chocolate-factory:environments.0.subnet: Value error, expected a private")


def test_no_sidecar_forwards_to_or_checks_health_on_the_address_tailnet_forwarding_reaches(
    runs: dict[str, StackRun],
) -> None:
    # Every service behind a sidecar (Forgejo's HTTP and SSH, the registry, nginx) and containerboot's
    # health endpoint listen on another loopback address than the one tailscaled dials for tailnet
    # traffic that serve does not own.
    for stack in ("dev", "prod"):
        run = runs[stack]
        for sidecar in (c for c in run.containers if c.name.startswith("ts-")):
            assert not envs(sidecar)["TS_LOCAL_ADDR_PORT"].startswith("127.0.0.1:"), sidecar.name
            files = uploads(run, sidecar)
            if "/config/serve.json" not in files:
                continue
            serve = json.loads(files["/config/serve.json"]["content"])
            targets = [
                h["Proxy"] for site in serve.get("Web", {}).values() for h in site["Handlers"].values()
            ]
            targets += [port["TCPForward"] for port in serve["TCP"].values() if "TCPForward" in port]
            assert targets and not [t for t in targets if "127.0.0.1" in t], (sidecar.name, targets)
