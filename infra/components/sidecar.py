"""The Tailscale sidecar: containerboot in userspace mode, `tailscale serve` in front of a local port.

Services that sit behind it join its network namespace (`network_mode: container:<sidecar>`), so they
listen on a loopback address (`SERVE_BACKEND_HOST`) and are reachable only through `tailscale serve`,
over the tailnet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker

from infra.components.container import (
    ContainerSpec,
    HealthCheck,
    config_file,
    container,
    loopback_port,
    mount,
    secret_file,
    volume,
)
from infra.config import LoggingConfig

SOCKET_DIR = "/var/run/tailscale-shared"
SOCKET_PATH = f"{SOCKET_DIR}/tailscaled.sock"
AUTH_KEY_FILE = "/run/secrets/tailscale-authkey"
SERVE_CONFIG_FILE = "/config/serve.json"
HEALTH_ADDR = "127.0.0.2:9002"
"""containerboot's health check (TS_LOCAL_ADDR_PORT), out of reach of tailnet forwarding (see below)."""
SERVE_BACKEND_HOST = "127.0.0.2"
"""Where a service behind a userspace sidecar listens for `tailscale serve`, never 127.0.0.1.

In userspace mode tailscaled forwards a tailnet connection to a port that `serve` does not own to
127.0.0.1:<port>, raw, with whatever headers the tailnet peer wrote (tailscale wgengine/netstack/
netstack.go, acceptTCP: `case isTailscaleIP: dialIP = ipv4Loopback`). A listener on another
loopback address (all of 127.0.0.0/8 is local on Linux) is out of that forwarding's reach, and
`serve` still proxies to it: the CLI accepts only localhost targets (ipn/serve.go,
ExpandProxyTargetValue), but a serve config file (TS_SERVE_CONFIG) is not checked that way and its
`Proxy` URL is dialed as written (ipn/ipnlocal/serve.go)."""
OUTBOUND_PROXY = "127.0.0.1:1055"
"""HTTP and SOCKS5 proxy through which processes sharing a userspace sidecar reach the tailnet."""


def https_serve(local_port: int, host: str = "127.0.0.1") -> dict[str, Any]:
    """Serve config: HTTPS on 443 with the node's tailnet certificate, proxied to host:local_port."""
    return {
        "TCP": {"443": {"HTTPS": True}},
        "Web": {"${TS_CERT_DOMAIN}:443": {"Handlers": {"/": {"Proxy": f"http://{host}:{local_port}"}}}},
    }


def with_tcp_forward(
    serve: dict[str, Any], port: int, local_port: int, host: str = "127.0.0.1"
) -> dict[str, Any]:
    """Add a raw TCP forward to host:local_port (for example SSH for git) to a serve config."""
    tcp = {**serve.get("TCP", {}), str(port): {"TCPForward": f"{host}:{local_port}"}}
    return {**serve, "TCP": tcp}


@dataclass(frozen=True)
class SidecarArgs:
    hostname: str
    auth_key: pulumi.Input[str]
    image: str
    network: docker.Network
    serve: Mapping[str, Any] | None = None
    address: str | None = None
    """A fixed IPv4 address on `network` (outside Docker's dynamic range), for peers that trust it."""
    share_socket: bool = False
    """Put tailscaled's socket in a volume (`<name>-socket`) for the LocalAPI proxy."""
    outbound_proxy: bool = False
    memory_mb: int = 128
    extra_envs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sidecar:
    container: docker.Container
    state: docker.Volume
    socket: docker.Volume | None

    @property
    def network_mode(self) -> pulumi.Output[str]:
        """`network_mode` for a container that joins this sidecar's network namespace."""
        return self.container.name.apply(lambda n: f"container:{n}")


def tailscale_sidecar(
    name: str,
    args: SidecarArgs,
    *,
    provider: docker.Provider,
    parent: pulumi.Resource,
    logging: LoggingConfig,
) -> Sidecar:
    state = volume(f"{name}-state", provider=provider, parent=parent, holds_data=True)
    socket = (
        volume(f"{name}-socket", provider=provider, parent=parent, holds_data=False)
        if args.share_socket
        else None
    )
    envs: dict[str, pulumi.Input[str]] = {
        "TS_HOSTNAME": args.hostname,
        "TS_USERSPACE": "true",
        "TS_STATE_DIR": "/var/lib/tailscale",
        "TS_AUTHKEY": f"file:{AUTH_KEY_FILE}",
        "TS_ACCEPT_DNS": "false",
        "TS_ENABLE_HEALTH_CHECK": "true",
        "TS_LOCAL_ADDR_PORT": HEALTH_ADDR,
        **args.extra_envs,
    }
    uploads = [secret_file(AUTH_KEY_FILE, args.auth_key)]
    if args.serve is not None:
        envs["TS_SERVE_CONFIG"] = SERVE_CONFIG_FILE
        uploads.append(config_file(SERVE_CONFIG_FILE, json.dumps(args.serve, indent=2, sort_keys=True)))
    volumes = [mount(state, "/var/lib/tailscale")]
    if socket is not None:
        envs["TS_SOCKET"] = SOCKET_PATH
        volumes.append(mount(socket, SOCKET_DIR))
    if args.outbound_proxy:
        envs["TS_SOCKS5_SERVER"] = OUTBOUND_PROXY
        envs["TS_OUTBOUND_HTTP_PROXY_LISTEN"] = OUTBOUND_PROXY
    spec = ContainerSpec(
        image=args.image,
        user=None,  # root: see infra.images.ROOT_IMAGES["tailscale"]
        health=HealthCheck(
            ["CMD", "wget", "--quiet", "--spider", "--timeout=4", f"http://{HEALTH_ADDR}/healthz"]
        ),
        memory_mb=args.memory_mb,
        envs=envs,
        volumes=volumes,
        uploads=uploads,
        networks=[docker.ContainerNetworksAdvancedArgs(name=args.network.name, ipv4_address=args.address)],
        hostname=args.hostname,
        # containerboot's default socket (when TS_SOCKET is not shared) and scratch files
        tmpfs={"/tmp": "rw,size=16m"},  # noqa: S108 (a tmpfs inside the container)
    )
    ts = container(name, spec, provider=provider, parent=parent, logging=logging)
    return Sidecar(container=ts, state=state, socket=socket)


@dataclass
class Reachability:
    """How a service container is reached: inside its sidecar's namespace, or on a loopback port."""

    network_mode: pulumi.Input[str] | None = None
    networks: list[docker.ContainerNetworksAdvancedArgs] = field(default_factory=list)
    ports: list[docker.ContainerPortArgs] = field(default_factory=list)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def behind_sidecar_or_loopback(
    name: str,
    *,
    sidecar: SidecarArgs | None,
    network: docker.Network,
    alias: str,
    port: int,
    local_port: int | None,
    provider: docker.Provider,
    parent: pulumi.Resource,
    logging: LoggingConfig,
) -> Reachability:
    """With `sidecar`: a Tailscale sidecar `ts-<name>` whose namespace the service joins (tailnet only).
    Without: the service on `network` under `alias`, its `port` published on 127.0.0.1:`local_port`."""
    if sidecar is not None:
        ts = tailscale_sidecar(f"ts-{name}", sidecar, provider=provider, parent=parent, logging=logging)
        return Reachability(network_mode=ts.network_mode, depends_on=[ts.container])
    if local_port is None:
        raise ValueError(f"{name}: without a tailnet the service needs a local port")
    return Reachability(
        networks=[docker.ContainerNetworksAdvancedArgs(name=network.name, aliases=[alias])],
        ports=[loopback_port(port, local_port)],
    )
