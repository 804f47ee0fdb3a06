"""Forgejo on the git node: git hosting and Actions, reachable over the tailnet through its sidecar."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from infra import tokens
from infra.components.container import (
    ContainerSpec,
    container,
    http_check,
    mount,
    private_network,
    secret_file,
    volume,
)
from infra.components.sidecar import (
    SERVE_BACKEND_HOST,
    SidecarArgs,
    behind_sidecar_or_loopback,
    https_serve,
    with_tcp_forward,
)
from infra.config import ForgejoConfig, LoggingConfig

FORGEJO_USER = "1000:1000"
"""The rootless image's `git` user, which owns /var/lib/gitea."""
SECRET_KEY_FILE = "/run/secrets/forgejo-secret-key"  # noqa: S105 (a path)


@dataclass(frozen=True)
class ForgejoArgs:
    config: ForgejoConfig
    image: str
    provider: docker.Provider
    logging: LoggingConfig
    root_url: str
    secret_key: pulumi.Input[str]
    sidecar_image: str | None = None
    auth_key: pulumi.Input[str] | None = None
    """With a tailnet: the sidecar's auth key; without, Forgejo is published on 127.0.0.1."""


def listen_host(tailnet: bool) -> str:
    """Where Forgejo listens: behind a sidecar, only where `serve` forwards (sidecar.SERVE_BACKEND_HOST)."""
    return SERVE_BACKEND_HOST if tailnet else "0.0.0.0"  # noqa: S104 (its own network; published on loopback)


def forgejo_settings(cfg: ForgejoConfig, root_url: str, *, tailnet: bool) -> dict[str, str]:
    """Forgejo's app.ini as FORGEJO__section__KEY environment variables."""
    domain = root_url.split("://", 1)[1].split(":", 1)[0].split("/", 1)[0]
    return {
        "FORGEJO__server__ROOT_URL": root_url,
        "FORGEJO__server__DOMAIN": domain,
        "FORGEJO__server__SSH_DOMAIN": domain,
        "FORGEJO__server__HTTP_ADDR": listen_host(tailnet),
        "FORGEJO__server__HTTP_PORT": str(cfg.http_port),
        "FORGEJO__server__START_SSH_SERVER": "true",
        "FORGEJO__server__SSH_LISTEN_HOST": listen_host(tailnet),
        "FORGEJO__server__SSH_LISTEN_PORT": str(cfg.ssh_port),
        "FORGEJO__server__SSH_PORT": "22" if tailnet else str(cfg.ssh_port),
        "FORGEJO__security__INSTALL_LOCK": "true",
        "FORGEJO__security__SECRET_KEY_URI": f"file:{SECRET_KEY_FILE}",
        "FORGEJO__service__DISABLE_REGISTRATION": "true",
        "FORGEJO__service__REQUIRE_SIGNIN_VIEW": "true",
        "FORGEJO__actions__ENABLED": "true",
        "FORGEJO__actions__DEFAULT_ACTIONS_URL": "https://data.forgejo.org",
        "FORGEJO__database__DB_TYPE": "sqlite3",
        "FORGEJO__log__LEVEL": "Info",
    }


class Forgejo(pulumi.ComponentResource):
    url: str

    def __init__(self, name: str, args: ForgejoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.FORGEJO, name, None, opts)
        cfg, provider = args.config, args.provider
        tailnet = args.auth_key is not None
        self.url = args.root_url
        self.network = private_network(f"{name}-net", f"cf-{name}", provider=provider, parent=self)
        data = volume(f"{name}-data", provider=provider, parent=self, holds_data=True)
        reach = behind_sidecar_or_loopback(
            name,
            sidecar=SidecarArgs(
                hostname=cfg.hostname,
                auth_key=args.auth_key,
                image=args.sidecar_image,
                network=self.network,
                serve=with_tcp_forward(
                    https_serve(cfg.http_port, SERVE_BACKEND_HOST), 22, cfg.ssh_port, SERVE_BACKEND_HOST
                ),
            )
            if args.auth_key is not None and args.sidecar_image is not None
            else None,
            network=self.network,
            alias="forgejo",
            port=cfg.http_port,
            local_port=cfg.local_port,
            provider=provider,
            parent=self,
            logging=args.logging,
        )
        self.container = container(
            name,
            ContainerSpec(
                image=args.image,
                user=FORGEJO_USER,
                health=http_check(f"http://{listen_host(tailnet)}:{cfg.http_port}/api/healthz"),
                memory_mb=cfg.memory_mb,
                envs=forgejo_settings(cfg, args.root_url, tailnet=tailnet),
                volumes=[mount(data, "/var/lib/gitea")],
                uploads=[secret_file(SECRET_KEY_FILE, args.secret_key, owner="1000")],
                networks=reach.networks,
                network_mode=reach.network_mode,
                ports=reach.ports,
                # Read-only root: the rootless image declares VOLUME /var/lib/gitea and /etc/gitea (where
                # its entrypoint writes app.ini) and sets TMPDIR=/tmp/gitea (Dockerfile.rootless), so
                # /tmp (mode 1777) is the one more place it writes.
                tmpfs={"/tmp": "rw,size=64m"},  # noqa: S108 (a tmpfs inside the container)
            ),
            provider=provider,
            parent=self,
            logging=args.logging,
            depends_on=reach.depends_on,
        )
        self.register_outputs({"url": self.url})
