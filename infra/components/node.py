"""A machine that runs containers, and the explicit Docker provider every resource on it uses."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from infra import tokens


@dataclass(frozen=True)
class RegistryLogin:
    """Credentials the node's engine uses to pull the platform's own images."""

    address: str
    username: str
    password: pulumi.Input[str]


@dataclass(frozen=True)
class NodeArgs:
    docker_host: str
    """ssh://user@host over the tailnet, or unix:///var/run/docker.sock for the local engine."""
    registry_login: RegistryLogin | None = None


class Node(pulumi.ComponentResource):
    """`provider` is the node's Docker engine; no resource of the platform uses a default provider."""

    provider: docker.Provider

    def __init__(self, name: str, args: NodeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.NODE, name, None, opts)
        ssh = args.docker_host.startswith("ssh://")
        login = args.registry_login
        self.provider = docker.Provider(
            f"{name}-docker",
            host=args.docker_host,
            ssh_opts=["-o", "BatchMode=yes", "-o", "ServerAliveInterval=30"] if ssh else None,
            registry_auth=[
                docker.ProviderRegistryAuthArgs(
                    address=login.address, username=login.username, password=login.password
                )
            ]
            if login
            else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"dockerHost": args.docker_host})
