"""One environment of the app (dev, prod or local): the only component a CI deploy touches.

    tailnet --HTTPS 443--> [ts-<env>]  tailscale (userspace), `tailscale serve` -> 127.0.0.2:8080
                              | shares its network namespace with
                           [web-<env>] nginx on 127.0.0.2:8080, JSON access log on `web-<env>-logs`
                              | private network cf-<env>: ts-<env> (so nginx) has its second address
                           [app-<env>] the app, SQLite on `app-<env>-data`, reads the access log;
                              |         believes identity headers from that one address only
                              |
                           [proxy-<env>] socat 8765 -> tailscaled's socket, unprivileged uid

Without a tailnet (the local stack) there is no sidecar and no proxy: nginx is published on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pulumi
import pulumi_docker as docker

from infra import tokens
from infra.components.container import (
    NON_ROOT_USER,
    ContainerSpec,
    HealthCheck,
    config_file,
    container,
    fixed_address,
    http_check,
    loopback_port,
    mount,
    private_network,
    secret_file,
    volume,
)
from infra.components.sidecar import (
    SERVE_BACKEND_HOST,
    SOCKET_DIR,
    SOCKET_PATH,
    SidecarArgs,
    https_serve,
    tailscale_sidecar,
)
from infra.config import REPO_ROOT, AppConfig, EnvironmentConfig, LoggingConfig
from infra.images import ADDED_CAPABILITIES

APP_PORT = 8000
WEB_PORT = 8080
PROXY_PORT = 8765
ACCESS_LOG_DIR = "/var/log/cf-web"
ACCESS_LOG = f"{ACCESS_LOG_DIR}/access.log"
NGINX_RUN_DIR = "/var/run/cf-web"
"""nginx's tmpfs: the rendered config, its pid file and temp files (the root file system is read-only)."""
ANTHROPIC_KEY_FILE = "/run/secrets/anthropic-api-key"
NGINX_TEMPLATE = REPO_ROOT / "sidecar" / "nginx.conf.template"


@dataclass(frozen=True)
class RegistryPush:
    """Where a built image is pushed (and the nodes pull it from)."""

    server: str
    username: str
    password: pulumi.Input[str]


@dataclass(frozen=True)
class Images:
    """Upstream images this component runs (from infra.images) and the build's base images."""

    tailscale: str
    nginx: str
    python_base: str
    debian_base: str


@dataclass(frozen=True)
class AppEnvironmentArgs:
    env: EnvironmentConfig
    app: AppConfig
    images: Images
    provider: docker.Provider
    logging: LoggingConfig
    registry: RegistryPush
    tailnet_name: str | None = None
    """The tailnet's DNS name; None for the local stack."""
    auth_key: pulumi.Input[str] | None = None
    anthropic_api_key: pulumi.Input[str] | None = None
    analytics_env: Mapping[str, str] = field(default_factory=dict)
    image_depends_on: Sequence[pulumi.Resource] = ()
    """Resources a build must wait for (the local registry it pushes to)."""


def proxy_repository(app_repository: str) -> str:
    return app_repository.rsplit("/", 1)[0] + "/localapi-proxy"


class AppEnvironment(pulumi.ComponentResource):
    url: str
    web_address: str | None
    """The sidecar's (so nginx's) fixed address on cf-<env>; None without a tailnet."""
    image: pulumi.Output[str]
    """The app image by digest (`repo@sha256:...`), as the app container runs it."""

    def __init__(
        self, name: str, args: AppEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.APP_ENVIRONMENT, name, None, opts)
        env, app, provider, logging = args.env, args.app, args.provider, args.logging
        tailnet = args.tailnet_name is not None
        if tailnet:
            self.url = f"https://{env.hostname}.{args.tailnet_name}/"
        else:
            self.url = f"http://127.0.0.1:{env.local_port}/"

        # Behind a sidecar, the web container's requests reach the app from the sidecar's address on
        # cf-<env>: a fixed one, the only address the app trusts (never the network: its gateway is
        # the Docker host, so every process on the node).
        subnet = env.network if tailnet else None
        self.web_address = fixed_address(env.network) if tailnet else None
        self.network = private_network(
            f"{name}-net", f"cf-{name}", provider=provider, parent=self, subnet=subnet
        )
        data = volume(f"app-{name}-data", provider=provider, parent=self, holds_data=True)
        logs = volume(f"web-{name}-logs", provider=provider, parent=self, holds_data=False)

        self.image = self._image(
            f"app-{name}-image",
            repository=app.image_repository,
            digest=app.image_digest,
            context=REPO_ROOT,
            dockerfile=REPO_ROOT / "app" / "Dockerfile",
            base=args.images.python_base,
            args=args,
        )
        app_container = container(
            f"app-{name}",
            self._app_spec(name, args, data, logs),
            provider=provider,
            parent=self,
            logging=logging,
        )

        # The image's entrypoint renders /etc/nginx/templates/*.template into NGINX_ENVSUBST_OUTPUT_DIR
        # before it runs the command (docker-nginx entrypoint/20-envsubst-on-templates.sh).
        web_envs = {
            "NGINX_ENVSUBST_OUTPUT_DIR": NGINX_RUN_DIR,
            "CF_APP_UPSTREAM": f"app-{name}:{APP_PORT}",
            "CF_ACCESS_LOG": ACCESS_LOG,
            "CF_NGINX_RUN_DIR": NGINX_RUN_DIR,
        }
        web_spec = ContainerSpec(
            image=args.images.nginx,
            user=None,  # root: see infra.images.ROOT_IMAGES["nginx"]
            command=["nginx", "-c", f"{NGINX_RUN_DIR}/nginx.conf", "-g", "daemon off;"],
            health=http_check(f"http://127.0.0.1:{WEB_PORT}/health"),
            memory_mb=64,
            envs=web_envs,
            volumes=[mount(logs, ACCESS_LOG_DIR)],
            uploads=[config_file("/etc/nginx/templates/nginx.conf.template", NGINX_TEMPLATE.read_text())],
            tmpfs={NGINX_RUN_DIR: "rw,size=16m", "/var/cache/nginx": "rw,size=16m"},
            capabilities=ADDED_CAPABILITIES["nginx"][0],
        )
        if tailnet:
            assert args.auth_key is not None and env.hostname is not None
            sidecar = tailscale_sidecar(
                f"ts-{name}",
                SidecarArgs(
                    hostname=env.hostname,
                    auth_key=args.auth_key,
                    image=args.images.tailscale,
                    network=self.network,
                    serve=https_serve(WEB_PORT, SERVE_BACKEND_HOST),
                    share_socket=True,
                    address=self.web_address,
                ),
                provider=provider,
                parent=self,
                logging=logging,
            )
            container(
                f"web-{name}",
                replace(
                    web_spec,
                    envs={**web_envs, "CF_NGINX_LISTEN": f"{SERVE_BACKEND_HOST}:{WEB_PORT}"},
                    health=http_check(f"http://{SERVE_BACKEND_HOST}:{WEB_PORT}/health"),
                    network_mode=sidecar.network_mode,
                ),
                provider=provider,
                parent=self,
                logging=logging,
                depends_on=[sidecar.container, app_container],
            )
            assert sidecar.socket is not None
            proxy_image = self._image(
                f"proxy-{name}-image",
                repository=proxy_repository(app.image_repository),
                digest=app.proxy_image_digest,
                context=REPO_ROOT / "sidecar",
                dockerfile=REPO_ROOT / "sidecar" / "Dockerfile",
                base=args.images.debian_base,
                args=args,
            )
            container(
                f"proxy-{name}",
                ContainerSpec(
                    image=proxy_image,
                    user=NON_ROOT_USER,
                    health=HealthCheck(["CMD", "/usr/local/bin/localapi-proxy-health"], timeout="10s"),
                    memory_mb=32,
                    envs={"TS_SOCKET": SOCKET_PATH, "LISTEN_PORT": str(PROXY_PORT)},
                    # connect() on a unix socket needs no write access to the mount
                    volumes=[mount(sidecar.socket, SOCKET_DIR, read_only=True)],
                    networks=[
                        docker.ContainerNetworksAdvancedArgs(
                            name=self.network.name, aliases=[f"proxy-{name}"]
                        )
                    ],
                ),
                provider=provider,
                parent=self,
                logging=logging,
                depends_on=[sidecar.container],
            )
        else:
            assert env.local_port is not None
            container(
                f"web-{name}",
                replace(
                    web_spec,
                    envs={**web_envs, "CF_NGINX_LISTEN": f"0.0.0.0:{WEB_PORT}"},
                    networks=[
                        docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[f"web-{name}"])
                    ],
                    ports=[loopback_port(WEB_PORT, env.local_port)],
                ),
                provider=provider,
                parent=self,
                logging=logging,
                depends_on=[app_container],
            )
        self.register_outputs({"url": self.url, "image": self.image})

    def _image(
        self,
        name: str,
        *,
        repository: str,
        digest: str | None,
        context: Path,
        dockerfile: Path,
        base: str,
        args: AppEnvironmentArgs,
    ) -> pulumi.Output[str]:
        """`repository@digest` when the stack pins a digest; else build, push and use the pushed digest."""
        if digest is not None:
            return pulumi.Output.from_input(f"{repository}@{digest}")
        image = docker.Image(
            name,
            image_name=f"{repository}:{args.env.name}",
            build=docker.DockerBuildArgs(
                context=str(context),
                dockerfile=str(dockerfile),
                args={"BASE_IMAGE": base},
                platform="linux/amd64",
            ),
            registry=docker.RegistryArgs(
                server=args.registry.server, username=args.registry.username, password=args.registry.password
            ),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider, depends_on=list(args.image_depends_on)
            ),
        )
        return image.repo_digest

    def _app_spec(
        self, name: str, args: AppEnvironmentArgs, data: docker.Volume, logs: docker.Volume
    ) -> ContainerSpec:
        envs: dict[str, pulumi.Input[str]] = {
            "CF_ENVIRONMENT": args.env.name,
            "CF_HOST": "0.0.0.0",
            "CF_PORT": str(APP_PORT),
            "CF_DATA_DIR": "/data",
            "CF_LOG_FORMAT": "json",
            "CF_IMAGE_DIGEST": self.image.apply(lambda ref: ref.rpartition("@")[2]),
            "CF_ANALYTICS_ACCESS_LOG_PATH": ACCESS_LOG,
            **args.analytics_env,
            **args.app.env,
        }
        if args.tailnet_name is not None:
            envs["CF_ANALYTICS_LOCALAPI_URL"] = f"http://proxy-{name}:{PROXY_PORT}"
            envs["CF_TRUSTED_PROXIES"] = json.dumps([self.web_address])
        uploads: list[docker.ContainerUploadArgs] = []
        if args.anthropic_api_key is not None:
            uploads.append(secret_file(ANTHROPIC_KEY_FILE, args.anthropic_api_key, owner="10001"))
            envs["CF_ANTHROPIC_API_KEY_FILE"] = ANTHROPIC_KEY_FILE
        return ContainerSpec(
            image=self.image,
            user=NON_ROOT_USER,
            health=HealthCheck(
                [
                    "CMD",
                    "python",
                    "-c",
                    "import urllib.request; "
                    f"urllib.request.urlopen('http://127.0.0.1:{APP_PORT}/health', timeout=4)",
                ]
            ),
            memory_mb=args.app.memory_mb,
            envs=envs,
            volumes=[mount(data, "/data"), mount(logs, ACCESS_LOG_DIR, read_only=True)],
            uploads=uploads,
            networks=[docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[f"app-{name}"])],
            tmpfs={"/tmp": "rw,size=64m"},  # noqa: S108 (a tmpfs inside the container)
        )
