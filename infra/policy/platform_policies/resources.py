"""What the policies read from the docker and tailscale resources, by the engine's property names."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .images import ImageRef, parse_image
from .values import UNKNOWN, entries, is_unknown, known_str, mapping, plain

CONTAINER: Final = "docker:index/container:Container"
VOLUME: Final = "docker:index/volume:Volume"
REMOTE_IMAGE: Final = "docker:index/remoteImage:RemoteImage"
DOCKER_PROVIDER: Final = "pulumi:providers:docker"
TAILNET_ACL: Final = "tailscale:index/acl:Acl"
TAILNET_KEY: Final = "tailscale:index/tailnetKey:TailnetKey"

# A container may state its role with this label; otherwise its image (or, for an image ID, its
# name) tells. A volume labelled DATA_LABEL=true holds data whatever mounts it.
ROLE_LABEL: Final = "chocolate-factory.role"
DATA_LABEL: Final = "chocolate-factory.data"
ROLE_IMAGES: Final[Mapping[str, tuple[str, ...]]] = {
    "forgejo": ("forgejo/forgejo", "forgejo/forgejo-rootless"),
    "registry": ("registry", "distribution/distribution"),
    "runner": ("forgejo/runner", "forgejo/act_runner", "gitea/act_runner"),
    "app": ("chocolate-factory/app", "chocolate-factory", "app"),
}


@dataclass(frozen=True)
class Container:
    """A `docker.Container`'s inputs, as plain values (unknowns are `UNKNOWN`)."""

    name: str
    props: dict[str, Any]

    @classmethod
    def of(cls, name: str, props: Mapping[str, Any]) -> Container:
        return cls(name=name, props=mapping(plain(props)))

    def get(self, key: str) -> Any:
        return self.props.get(key)

    @property
    def image(self) -> ImageRef | None:
        reference = known_str(self.get("image"))
        return parse_image(reference) if reference else None

    def envs(self) -> Iterator[tuple[str, Any]]:
        """(name, value) of every `NAME=value` entry that is known (an unknown entry hides its name)."""
        for entry in entries(self.get("envs")):
            if isinstance(entry, str):
                name, _, value = entry.partition("=")
                yield name, value

    def has_unknown_envs(self) -> bool:
        envs = self.get("envs")
        return is_unknown(envs) or any(is_unknown(entry) for entry in entries(envs))

    def env(self, name: str) -> Any:
        """The value of variable `name` (the last one wins, as in Docker); None when unset, `UNKNOWN`
        when an entry not known yet may set it."""
        found: Any = None
        for key, value in self.envs():
            if key == name:
                found = value
        if found is None and self.has_unknown_envs():
            return UNKNOWN
        return found

    def labels(self) -> Iterator[tuple[str, Any]]:
        for entry in entries(self.get("labels")):
            label = known_str(mapping(entry).get("label"))
            if label is not None:
                yield label, mapping(entry).get("value")

    def host_paths(self) -> Iterator[tuple[str, str]]:
        """(host path, where it is declared) for every bind mount with a known source."""
        for index, volume in enumerate(entries(self.get("volumes"))):
            path = known_str(mapping(volume).get("hostPath"))
            if path:
                yield path, f"volumes[{index}].hostPath"
        for index, mount in enumerate(entries(self.get("mounts"))):
            mount_type = mapping(mount).get("type")
            source = known_str(mapping(mount).get("source"))
            if mount_type == "bind" and source:
                yield source, f"mounts[{index}].source"

    def has_unknown_uploads(self) -> bool:
        uploads = self.get("uploads")
        return is_unknown(uploads) or any(
            is_unknown(upload)
            or is_unknown(mapping(upload).get("file"))
            or is_unknown(mapping(upload).get("content"))
            for upload in entries(uploads)
        )

    def uploads(self) -> Iterator[tuple[str, str]]:
        """(file, content) of every upload whose path and text content are known."""
        for upload in entries(self.get("uploads")):
            file = known_str(mapping(upload).get("file"))
            content = known_str(mapping(upload).get("content"))
            if file and content is not None:
                yield file, content

    def is_one_shot(self) -> bool | None:
        """Whether the container runs to completion (attached, removed on exit, or not kept running);
        None while a value that decides it is unknown."""
        markers = (self.get("attach"), self.get("rm"), self.get("mustRun"), self.get("start"))
        attach, rm, must_run, start = markers
        if attach is True or rm is True or must_run is False or start is False:
            return True
        return None if any(is_unknown(marker) for marker in markers) else False

    def role(self) -> str | None:
        """forgejo, registry, runner, app, or None for any other container."""
        for label, value in self.labels():
            if label == ROLE_LABEL and isinstance(value, str):
                return value
        image = self.image
        if image is not None and image.repository:
            return _role_of_repository(image.repository)
        # An image ID (or an image not known yet) does not say what runs: its name does.
        container_name = known_str(self.get("name")) or self.name
        first = re.split(r"[^a-z0-9]+", container_name.lower(), maxsplit=1)[0]
        return first if first in ROLE_IMAGES else None


def _role_of_repository(repository: str) -> str | None:
    for role, repositories in ROLE_IMAGES.items():
        for known in repositories:
            if repository == known or repository.endswith("/" + known):
                return role
    return None


def labels_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """A docker resource's `labels` list ({label, value} entries) as a dict of the known labels."""
    found: dict[str, Any] = {}
    for entry in entries(mapping(plain(props)).get("labels")):
        label = known_str(mapping(entry).get("label"))
        if label is not None:
            found[label] = mapping(entry).get("value")
    return found
