"""The app's environment without nginx and tailscale: app + LocalAPI proxy + stand-in tailscaled.

    [localapi]  python -m tests.standins.localapi on a unix socket in a shared volume (as root, like
                tailscaled)
    [proxy]     the sidecar image: socat TCP 8765 -> that socket, as uid 10001
    [app]       the app image, read-only root file system, data volume, published on 127.0.0.1 only

All three on a private Docker network of their own; the app reaches the proxy as `proxy:8765`. Every
outbound base URL of the app points at a closed port on its own loopback, so nothing leaves the host.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.smoke.local_app import OFFLINE_ENV
from tests.support.docker import docker
from tests.support.services import http_answers, wait_until

SOCKET_DIR = "/var/run/tailscale-shared"
ADMIN_LOGIN = "ana@chocolate.example"


@dataclass
class Topology:
    """Names of the running pieces; `run_app` (re)starts the app container from an image."""

    suffix: str
    network: str
    gateway: str
    repo_root: Path
    app_name: str = ""
    app_url: str = ""
    removed: list[str] = field(default_factory=list)

    def run_app(self, image: str, digest: str = "", extra_env: dict[str, str] | None = None) -> str:
        """Replace the app container with one from `image`; returns its base URL on 127.0.0.1."""
        self.stop_app()
        self.app_name = f"cf-smoke-app-{self.suffix}-{uuid.uuid4().hex[:6]}"
        env = {
            **OFFLINE_ENV,
            "CF_ANALYTICS_LOCALAPI_URL": "http://proxy:8765",
            "CF_ANALYTICS_ADMINS": f'["{ADMIN_LOGIN}"]',
            # Requests from the host arrive from the network's gateway: trust it like the web container.
            # (CF_TRUSTED_PROXIES replaces CF_ANALYTICS_TRUSTED_PROXIES; the app ignores the one it lacks.)
            "CF_TRUSTED_PROXIES": f'["{self.gateway}/32"]',
            "CF_ANALYTICS_TRUSTED_PROXIES": f'["{self.gateway}/32"]',
            "CF_ENVIRONMENT": "smoke",
            "CF_IMAGE_DIGEST": digest,
            **(extra_env or {}),
        }
        args = ["run", "-d", "--name", self.app_name, "--network", self.network, "--network-alias", "app"]
        args += ["--read-only", "--tmpfs", "/tmp", "-v", f"cf-smoke-data-{self.suffix}:/data"]
        args += ["-p", "127.0.0.1::8000"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        docker(*args, image)
        port = docker("port", self.app_name, "8000/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        self.app_url = f"http://127.0.0.1:{port}"
        return self.app_url

    def wait_healthy(self, timeout: float = 60.0) -> None:
        url = f"{self.app_url}/health"
        try:
            wait_until(lambda: http_answers(url, 200) or not self.app_running(), timeout, "the app container")
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}; its log:\n{self.app_log()}") from None
        if not self.app_running():
            raise RuntimeError(f"the app container {self.app_name} exited; its log:\n{self.app_log()}")

    def app_running(self) -> bool:
        state = docker("inspect", "-f", "{{.State.Running}}", self.app_name, check=False).stdout.strip()
        return state == "true"

    def app_log(self) -> str:
        result = docker("logs", "--tail", "40", self.app_name, check=False)
        return result.stdout + result.stderr

    def app_image(self) -> str:
        return docker("inspect", "-f", "{{.Config.Image}}", self.app_name).stdout.strip()

    def stop_app(self) -> None:
        if self.app_name:
            docker("rm", "-f", "-v", self.app_name, check=False)
            self.app_name = ""


@contextmanager
def smoke_topology(base_image: str, sidecar_image: str, repo_root: Path) -> Iterator[Topology]:
    suffix = uuid.uuid4().hex[:8]
    network = f"cf-smoke-{suffix}"
    socket_volume = f"cf-smoke-ts-{suffix}"
    with ExitStack() as cleanup:
        docker("network", "create", network)
        cleanup.callback(docker, "network", "rm", network, check=False)
        for volume in (socket_volume, f"cf-smoke-data-{suffix}"):
            cleanup.callback(docker, "volume", "rm", "-f", volume, check=False)
        gateway = docker(
            "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", network
        ).stdout.strip()
        topology = Topology(suffix=suffix, network=network, gateway=gateway, repo_root=repo_root)
        cleanup.callback(topology.stop_app)

        localapi = f"cf-smoke-localapi-{suffix}"
        cleanup.callback(docker, "rm", "-f", localapi, check=False)
        docker(
            "run", "-d", "--name", localapi, "--network", network,
            "-v", f"{socket_volume}:{SOCKET_DIR}",
            "-v", f"{repo_root / 'tests'}:/srv/tests:ro",
            "-w", "/srv", "-e", "PYTHONDONTWRITEBYTECODE=1",
            base_image,
            "python3", "-m", "tests.standins.localapi", "--socket", f"{SOCKET_DIR}/tailscaled.sock",
        )  # fmt: skip
        proxy = f"cf-smoke-proxy-{suffix}"
        cleanup.callback(docker, "rm", "-f", proxy, check=False)
        docker(
            "run", "-d", "--name", proxy, "--network", network, "--network-alias", "proxy",
            "--read-only", "-v", f"{socket_volume}:{SOCKET_DIR}",
            "-e", f"TS_SOCKET={SOCKET_DIR}/tailscaled.sock",
            sidecar_image,
        )  # fmt: skip
        yield topology
