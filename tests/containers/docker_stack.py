"""`StackOps` over the local Docker engine: `up` runs the app container of the smoke topology from
`<repository>@<configured digest>`, pulled from the registry, as the Pulumi program does on a node."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.deploy.keys import DEPLOYED_DIGEST_OUTPUT, IMAGE_DIGEST_KEY, URL_OUTPUT
from infra.deploy.stack import StackUpError
from tests.containers.topology import Topology
from tests.support.docker import docker


class DockerStack:
    def __init__(self, name: str, topology: Topology, repository: str) -> None:
        self._name = name
        self.topology = topology
        self.repository = repository
        self.config: dict[str, str] = {}
        self.ups: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    def get_config(self, key: str) -> str | None:
        return self.config.get(key)

    def set_config(self, key: str, value: str) -> None:
        self.config[key] = value

    def up(self, targets: Sequence[str]) -> None:
        digest = self.config[IMAGE_DIGEST_KEY]
        reference = f"{self.repository}@{digest}"
        self.ups.append(reference)
        pulled = docker("pull", reference, check=False)
        if pulled.returncode != 0:
            raise StackUpError(f"pulling {reference}: {pulled.stderr.strip()}")
        self.topology.run_app(reference, digest)

    def outputs(self) -> Mapping[str, object]:
        running = self.topology.app_name and self.topology.app_running()
        return {
            URL_OUTPUT: self.topology.app_url,
            DEPLOYED_DIGEST_OUTPUT: self.config.get(IMAGE_DIGEST_KEY) if running else None,
        }
