"""Small readers over captured resources, shared by the infra tests."""

from __future__ import annotations

from typing import Any

from tests.infra.harness import CapturedResource, StackRun

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
IMAGE = "docker:index/image:Image"
DOCKER_PROVIDER = "pulumi:providers:docker"
ACL = "tailscale:index/acl:Acl"
AUTH_KEY = "tailscale:index/tailnetKey:TailnetKey"


def envs(container: CapturedResource) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in container.inputs.get("envs") or [])


def uploads(container: CapturedResource) -> dict[str, dict[str, Any]]:
    return {u["file"]: u for u in container.inputs.get("uploads") or []}


def node_of(run: StackRun, resource: CapturedResource) -> str:
    """Name of the node whose Docker provider `resource` is bound to."""
    assert resource.provider is not None, f"{resource.name} has no explicit provider"
    provider = run.by_urn(resource.provider)
    assert provider.type == DOCKER_PROVIDER, f"{resource.name} is bound to {provider.type}"
    return provider.name.removesuffix("-docker")


def component_of(run: StackRun, resource: CapturedResource) -> CapturedResource:
    """The nearest ancestor that is one of the platform's components."""
    return next(a for a in run.ancestors(resource) if a.type.startswith("chocolate:index:"))
