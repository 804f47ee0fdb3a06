"""Every upstream image the platform runs, pinned in one place: an explicit version tag and its digest.

A stack may override an entry with `chocolate-factory:images` (for example to roll a sidecar forward on
dev first); nothing else in the program names an upstream image. Digests are those of the multi-arch
index, so the same reference works on amd64 and arm64 nodes. To upgrade: `docker buildx imagetools
inspect <image>:<new tag>` and replace both tag and digest.
"""

from __future__ import annotations

from collections.abc import Mapping

PINNED: Mapping[str, str] = {
    # Tailscale sidecars (containerboot, userspace networking).
    "tailscale": "ghcr.io/tailscale/tailscale:v1.88.4"
    "@sha256:360e10ad95ad03950f66df03e0dab66287f9f89076ee4012d50bc6adceafcdf3",
    # nginx in front of the app, sharing the sidecar's network namespace.
    "nginx": "docker.io/library/nginx:1.27-alpine"
    "@sha256:65645c7bb6a0661892a8b03b89d0743208a18dd2f3f17a54ef4b76fb8e2f2a10",
    # Forgejo, the rootless variant (runs as uid 1000, built-in SSH server on 2222).
    "forgejo": "codeberg.org/forgejo/forgejo:10-rootless"
    "@sha256:5658d26e908b9acb533f86616000dd3d9619085e6979aa394d89142ed69f19b2",
    "forgejo-runner": "data.forgejo.org/forgejo/runner:6.3.1"
    "@sha256:5071e6832313bafe71577e05631bece88caff08fcfb372193e4a21941f4ed54b",
    "registry": "docker.io/library/registry:2.8.3"
    "@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373",
    # BASE_IMAGE of app/Dockerfile and sidecar/Dockerfile.
    "python-base": "docker.io/library/python:3.11-slim-bookworm"
    "@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b",
    "debian-base": "docker.io/library/debian:bookworm-20251229-slim"
    "@sha256:d5d3f9c23164ea16f31852f95bd5959aad1c5e854332fe00f7b3a20fcc9f635c",
}

ROOT_IMAGES: Mapping[str, str] = {
    "tailscale": "containerboot runs tailscaled, which needs root to own its state and socket; it holds "
    "no capability beyond Docker's defaults and runs in userspace mode (no NET_ADMIN, no /dev/net/tun)",
    "nginx": "the upstream entrypoint rewrites /etc/nginx and the cache as root before the master drops "
    "its workers to the nginx user; it listens on 8080, so it needs no privileged port",
    "registry": "the upstream image has no unprivileged user and its storage directory is root-owned; "
    "it listens on an unprivileged port behind the sidecar and holds no added capability",
}
"""Images that run as root, and why; every other container sets a non-root user."""

ADDED_CAPABILITIES: Mapping[str, tuple[tuple[str, ...], str]] = {
    "nginx": (
        ("CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"),
        "the master (root) creates its temp directories for the workers' user and switches the "
        "workers to that user; it binds 8080, so no NET_BIND_SERVICE",
    ),
}
"""Capabilities an image adds back after every container drops them all, and why; no other does.

Written as `docker inspect` reports them (HostConfig.CapAdd, with the CAP_ prefix): the docker provider
reads them back unnormalized (terraform-provider-docker resourceDockerContainerRead), so another
spelling would replace the container on every `pulumi up`."""

WRITABLE_ROOT_IMAGES: Mapping[str, str] = {
    "forgejo-runner": "jobs run in the runner's own container (host-mode labels) and install their "
    "tools and caches under its home and /tmp, wherever a workflow puts them",
}
"""Images whose containers keep a writable root file system, and why; every other one is read-only."""


def resolve(overrides: Mapping[str, str]) -> dict[str, str]:
    """The pinned images, with the stack's overrides applied; unknown names are an error."""
    unknown = sorted(set(overrides) - set(PINNED))
    if unknown:
        raise KeyError(f"chocolate-factory:images names unknown images {unknown}; known: {sorted(PINNED)}")
    return {**PINNED, **overrides}
