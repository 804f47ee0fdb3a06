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


def files_holder(run: StackRun, container: CapturedResource) -> CapturedResource:
    """The container that carries `container`'s uploads: itself (a writable root file system), or
    the never-started `<name>-files` that writes them into the volumes it mounts
    (infra/components/container.py)."""
    holders = [c for c in run.all_containers if c.name == f"{container.name}-files"]
    return holders[0] if holders else container


def uploads(run: StackRun, container: CapturedResource) -> dict[str, dict[str, Any]]:
    """The files `container` finds at start, by path."""
    return {u["file"]: u for u in files_holder(run, container).inputs.get("uploads") or []}


def node_of(run: StackRun, resource: CapturedResource) -> str:
    """Name of the node whose Docker provider `resource` is bound to."""
    assert resource.provider is not None, f"{resource.name} has no explicit provider"
    provider = run.by_urn(resource.provider)
    assert provider.type == DOCKER_PROVIDER, f"{resource.name} is bound to {provider.type}"
    return provider.name.removesuffix("-docker")


def component_of(run: StackRun, resource: CapturedResource) -> CapturedResource:
    """The nearest ancestor that is one of the platform's components."""
    return next(a for a in run.ancestors(resource) if a.type.startswith("chocolate:index:"))


def docker_run_flags(container: CapturedResource) -> list[str]:
    """The container's user, root file system, capabilities, tmpfs and security options as the
    `docker run` flags that give a container the same confinement (for tests on the real engine)."""
    inputs = container.inputs
    args = ["--user", inputs["user"]] if inputs.get("user") else []
    if inputs.get("readOnly"):
        args.append("--read-only")
    capabilities = inputs.get("capabilities") or {}
    args += [f"--cap-drop={name}" for name in capabilities.get("drops") or []]
    args += [f"--cap-add={name}" for name in capabilities.get("adds") or []]
    args += [f"--tmpfs={path}:{options}" for path, options in (inputs.get("tmpfs") or {}).items()]
    args += [f"--security-opt={option}" for option in inputs.get("securityOpts") or []]
    return args
