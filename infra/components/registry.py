"""The private image registry on the git node: htpasswd (bcrypt) auth, deletes enabled, tailnet only."""

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
from infra.components.sidecar import SERVE_BACKEND_HOST, SidecarArgs, behind_sidecar_or_loopback, https_serve
from infra.config import LoggingConfig, RegistryConfig

HTPASSWD_FILE = "/auth/htpasswd"
DEBUG_PORT = 5001


@dataclass(frozen=True)
class RegistryArgs:
    config: RegistryConfig
    image: str
    provider: docker.Provider
    logging: LoggingConfig
    htpasswd: pulumi.Input[str]
    """htpasswd file content: `htpasswd -nbB <user> <password>` (bcrypt)."""
    sidecar_image: str | None = None
    auth_key: pulumi.Input[str] | None = None


def registry_settings(cfg: RegistryConfig, *, tailnet: bool) -> dict[str, str]:
    # Behind a sidecar, only where `serve` forwards (sidecar.SERVE_BACKEND_HOST); the debug server
    # (health, metrics, pprof) likewise, out of reach of tailscaled's forwarding to 127.0.0.1.
    listen = SERVE_BACKEND_HOST if tailnet else "0.0.0.0"
    return {
        "REGISTRY_HTTP_ADDR": f"{listen}:{cfg.port}",
        "REGISTRY_HTTP_DEBUG_ADDR": f"{SERVE_BACKEND_HOST}:{DEBUG_PORT}",
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "chocolate-factory",
        "REGISTRY_AUTH_HTPASSWD_PATH": HTPASSWD_FILE,
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/var/lib/registry",
        "REGISTRY_HEALTH_STORAGEDRIVER_ENABLED": "true",
        "REGISTRY_LOG_FORMATTER": "json",
    }


class Registry(pulumi.ComponentResource):
    address: str
    """host[:port] that `docker push` and the nodes' engines use."""

    def __init__(
        self, name: str, args: RegistryArgs, address: str, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.REGISTRY, name, None, opts)
        cfg, provider = args.config, args.provider
        tailnet = args.auth_key is not None
        self.address = address
        self.network = private_network(f"{name}-net", f"cf-{name}", provider=provider, parent=self)
        storage = volume(f"{name}-data", provider=provider, parent=self, holds_data=True)
        reach = behind_sidecar_or_loopback(
            name,
            sidecar=SidecarArgs(
                hostname=cfg.hostname,
                auth_key=args.auth_key,
                image=args.sidecar_image,
                network=self.network,
                serve=https_serve(cfg.port, SERVE_BACKEND_HOST),
            )
            if args.auth_key is not None and args.sidecar_image is not None
            else None,
            network=self.network,
            alias="registry",
            port=cfg.port,
            local_port=cfg.local_port,
            provider=provider,
            parent=self,
            logging=args.logging,
        )
        self.container = container(
            name,
            ContainerSpec(
                image=args.image,
                user=None,  # root: see infra.images.ROOT_IMAGES["registry"]
                health=http_check(f"http://{SERVE_BACKEND_HOST}:{DEBUG_PORT}/debug/health"),
                memory_mb=cfg.memory_mb,
                envs=registry_settings(cfg, tailnet=tailnet),
                volumes=[mount(storage, "/var/lib/registry")],
                uploads=[secret_file(HTPASSWD_FILE, args.htpasswd, mode="0444")],
                networks=reach.networks,
                network_mode=reach.network_mode,
                ports=reach.ports,
                tmpfs={"/tmp": "rw,size=64m"},  # noqa: S108 (a tmpfs inside the container)
            ),
            provider=provider,
            parent=self,
            logging=args.logging,
            depends_on=reach.depends_on,
        )
        self.register_outputs({"address": self.address})
