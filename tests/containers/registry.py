"""Debian's `docker-registry` on 127.0.0.1 with htpasswd (bcrypt) auth, storing in a temporary dir."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from tests.support.services import free_port, http_answers, service


@dataclass(frozen=True)
class Registry:
    host: str  # 127.0.0.1:<port>, as docker names it
    username: str
    password: str

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest the registry serves `repository:reference` under, asked over its HTTP API."""
        response = httpx.get(
            f"{self.url}/v2/{repository}/manifests/{reference}",
            auth=(self.username, self.password),
            headers={
                "Accept": ", ".join(
                    (
                        "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.oci.image.manifest.v1+json",
                    )
                )
            },
        )
        if response.status_code != 200:
            return None
        return response.headers.get("Docker-Content-Digest")


def htpasswd_line(username: str, password: str) -> str:
    result = subprocess.run(
        ["htpasswd", "-Bbn", username, password], check=True, capture_output=True, text=True
    )
    return result.stdout.strip() + "\n"


@contextmanager
def running_registry(workdir: Path, username: str = "ci", password: str | None = None) -> Iterator[Registry]:
    password = password or secrets.token_urlsafe(16)
    port = free_port()
    (workdir / "htpasswd").write_text(htpasswd_line(username, password))
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(workdir / "storage")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
        "auth": {"htpasswd": {"realm": "chocolate-factory-test", "path": str(workdir / "htpasswd")}},
    }
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    with service(
        "docker-registry",
        ["docker-registry", "serve", str(config_path)],
        port=port,
        log_dir=workdir,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/v2/", 401),
    ):
        yield Registry(host=f"127.0.0.1:{port}", username=username, password=password)
