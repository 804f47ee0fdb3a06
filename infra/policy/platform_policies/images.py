"""Docker image references: `[registry/]repository[:tag][@sha256:digest]`, or a bare image ID."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_VERSION_TAG = re.compile(r"^v?[0-9]")


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference. `repository` has no registry host and no `library/` prefix."""

    registry: str
    repository: str
    tag: str
    digest: str

    @property
    def is_image_id(self) -> bool:
        """A content-addressed local image ID (`sha256:...`), as `RemoteImage.image_id` gives."""
        return not self.repository and bool(self.digest)

    @property
    def pinned_by_digest(self) -> bool:
        return bool(self.digest)

    @property
    def has_version_tag(self) -> bool:
        return bool(self.tag) and self.tag != "latest" and _VERSION_TAG.match(self.tag) is not None


def parse_image(reference: str) -> ImageRef:
    """Parse `reference` the way Docker does (without contacting any registry)."""
    text = reference.strip()
    if _DIGEST.match(text):
        return ImageRef(registry="", repository="", tag="", digest=text)
    name, _, digest = text.partition("@")
    registry = ""
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, name = first, rest
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
    if name.startswith("library/") and registry in ("", "docker.io", "index.docker.io"):
        name = name[len("library/") :]
    return ImageRef(registry=registry, repository=name.lower(), tag=tag, digest=digest)


def valid_digest(digest: str) -> bool:
    return _DIGEST.match(digest) is not None
