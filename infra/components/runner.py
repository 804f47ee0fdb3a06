"""A Forgejo Actions runner for one environment, on that environment's node.

Jobs run in the runner's own container (label `<env>:host`): no Docker socket is handed to them and
nothing runs privileged. The runner registers offline with a shared secret (`forgejo-runner
create-runner-file`), which the operator also gives Forgejo (`forgejo forgejo-cli actions register`).
With a tailnet, the runner reaches Forgejo and its node's SSH port through its own sidecar
(tags `tag:ci`, `tag:ci-<env>`), whose HTTP proxy its jobs use.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker
import yaml

from infra import tokens
from infra.components.container import (
    ContainerSpec,
    HealthCheck,
    config_file,
    container,
    mount,
    private_network,
    secret_file,
    volume,
)
from infra.components.sidecar import OUTBOUND_PROXY, SidecarArgs, tailscale_sidecar
from infra.config import LoggingConfig, RunnerConfig

RUNNER_USER = "1000:1000"
"""The runner image's unprivileged user, which owns /data."""
SECRET_FILE = "/run/secrets/runner-secret"  # noqa: S105 (a path)
CONFIG_FILE = "/etc/forgejo-runner/config.yml"


@dataclass(frozen=True)
class RunnerArgs:
    config: RunnerConfig
    image: str
    provider: docker.Provider
    logging: LoggingConfig
    forgejo_url: str
    secret: pulumi.Input[str]
    network: docker.Network | None = None
    """Without a tailnet: the network on which Forgejo answers."""
    sidecar_image: str | None = None
    auth_key: pulumi.Input[str] | None = None


def proxy_envs(proxy: str | None) -> dict[str, str]:
    """Environment that sends the runner's (and its jobs') HTTP through the sidecar's proxy."""
    if proxy is None:
        return {}
    return {
        "HTTP_PROXY": f"http://{proxy}",
        "HTTPS_PROXY": f"http://{proxy}",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def runner_config(cfg: RunnerConfig, *, proxy: str | None) -> dict[str, object]:
    """The runner's config.yml: host-mode labels, one job at a time, no container options."""
    envs = proxy_envs(proxy)
    return {
        "log": {"level": "info"},
        "runner": {
            "file": "/data/.runner",
            "capacity": 1,
            "timeout": "1h",
            "envs": envs,
            "labels": [f"{label}:host" for label in cfg.labels],
        },
        "cache": {"enabled": False},
        "container": {"docker_host": "-", "privileged": False, "valid_volumes": []},
    }


def start_script(cfg: RunnerConfig, forgejo_url: str) -> str:
    return (
        "set -eu; "
        f'forgejo-runner --config {CONFIG_FILE} create-runner-file --connect --instance "{forgejo_url}" '
        f'--name "runner-{cfg.env}" --secret "$(cat {SECRET_FILE})"; '
        f"exec forgejo-runner --config {CONFIG_FILE} daemon"
    )


class Runner(pulumi.ComponentResource):
    def __init__(self, name: str, args: RunnerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.RUNNER, name, None, opts)
        cfg, provider = args.config, args.provider
        data = volume(f"{name}-data", provider=provider, parent=self, holds_data=False)
        network_mode: pulumi.Input[str] | None = None
        networks: list[docker.ContainerNetworksAdvancedArgs] = []
        depends: list[pulumi.Resource] = []
        proxy: str | None = None
        if args.auth_key is not None:
            assert args.sidecar_image is not None
            network = private_network(f"{name}-net", f"cf-ci-{cfg.env}", provider=provider, parent=self)
            sidecar = tailscale_sidecar(
                f"ts-{name}",
                SidecarArgs(
                    hostname=f"runner-{cfg.env}",
                    auth_key=args.auth_key,
                    image=args.sidecar_image,
                    network=network,
                    outbound_proxy=True,
                ),
                provider=provider,
                parent=self,
                logging=args.logging,
            )
            network_mode = sidecar.network_mode
            depends.append(sidecar.container)
            proxy = OUTBOUND_PROXY
        elif args.network is not None:
            networks = [docker.ContainerNetworksAdvancedArgs(name=args.network.name)]
        envs = proxy_envs(proxy)
        self.container = container(
            name,
            ContainerSpec(
                image=args.image,
                user=RUNNER_USER,
                command=["/bin/sh", "-c", start_script(cfg, args.forgejo_url)],
                health=HealthCheck(["CMD", "pgrep", "-f", "forgejo-runner"], start_period="60s"),
                memory_mb=cfg.memory_mb,
                envs=envs,
                volumes=[mount(data, "/data")],
                uploads=[
                    secret_file(SECRET_FILE, args.secret, owner="1000"),
                    config_file(
                        CONFIG_FILE, yaml.safe_dump(runner_config(cfg, proxy=proxy), sort_keys=False)
                    ),
                ],
                networks=networks,
                network_mode=network_mode,
                labels={"chocolate-factory.runner": cfg.env},
                writable_root=True,  # see infra.images.WRITABLE_ROOT_IMAGES["forgejo-runner"]
            ),
            provider=provider,
            parent=self,
            logging=args.logging,
            depends_on=depends,
        )
        self.register_outputs({"labels": list(cfg.labels)})
