"""Policies 14-15: which provider docker resources use, and which volumes survive a delete."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .resources import CONTAINER, DATA_LABEL, DOCKER_PROVIDER, VOLUME, Container, labels_of
from .values import entries, is_unknown, known_str, mapping, plain

DATA_ROLES: Final = ("forgejo", "registry", "app")


def _kind(resource_type: str) -> str:
    """`docker:index/container:Container` -> `Container`."""
    return resource_type.rsplit(":", 1)[-1]


def _validate_providers(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        if not resource.resource_type.startswith("docker:"):
            continue
        what = f"{_kind(resource.resource_type)} '{resource.name}'"
        provider = resource.provider
        if provider is None:
            report(f"{what} has no docker provider.", resource.urn)
        elif provider.resource_type != DOCKER_PROVIDER:
            report(f"{what} uses provider '{provider.name}' of type {provider.resource_type}.", resource.urn)
        elif provider.name == "default" or provider.name.startswith("default_"):
            report(
                f"{what} uses the default docker provider ({provider.name}), which deploys to whatever "
                "DOCKER_HOST is set where pulumi runs.",
                resource.urn,
            )


EXPLICIT_PROVIDERS: Final = StackValidationPolicy(
    name="docker-resources-use-explicit-provider",
    description=(
        "Every docker resource names the docker.Provider of its node, so no container lands on "
        "whatever Docker engine the machine running pulumi points at. Fix: pass "
        "opts=ResourceOptions(provider=<the node's docker.Provider>) (or parent it to a component "
        "that passes providers) for the resource."
    ),
    validate=_validate_providers,
    enforcement_level=EnforcementLevel.MANDATORY,
)


@dataclass
class _Mounts:
    """The docker volumes a container mounts: known names, writable or read-only, and whether a
    writable mount names a volume not known yet (a preview)."""

    writable: set[str] = field(default_factory=set)
    read_only: set[str] = field(default_factory=set)
    unknown_writable: bool = False


def _mounts(container: PolicyResource) -> _Mounts:
    props = mapping(plain(container.props))
    found = _Mounts()
    pairs = [
        (mapping(v).get("volumeName"), mapping(v).get("readOnly")) for v in entries(props.get("volumes"))
    ]
    pairs += [
        (mapping(m).get("source"), mapping(m).get("readOnly"))
        for m in entries(props.get("mounts"))
        if mapping(m).get("type") == "volume"
    ]
    for name, read_only in pairs:
        if is_unknown(name):
            found.unknown_writable |= read_only is not True
        elif isinstance(name, str) and name:
            (found.read_only if read_only is True else found.writable).add(name)
    return found


def _names(volume: PolicyResource) -> set[str]:
    docker_name = known_str(mapping(plain(volume.props)).get("name"))
    return {volume.name, docker_name} if docker_name else {volume.name}


def data_volumes(resources: list[PolicyResource]) -> dict[str, tuple[PolicyResource, str]]:
    """URN -> (volume, what it holds) for every docker volume mounted by Forgejo, the registry or the
    app, or labelled as holding data."""
    volumes = [resource for resource in resources if resource.resource_type == VOLUME]
    found: dict[str, tuple[PolicyResource, str]] = {}
    by_name: dict[str, PolicyResource] = {}
    for volume in volumes:
        for name in _names(volume):
            by_name.setdefault(name, volume)
    for resource in resources:
        if resource.resource_type != CONTAINER:
            continue
        role = Container.of(resource.name, resource.props).role()
        if role not in DATA_ROLES:
            continue
        mounts = _mounts(resource)
        mounted = [by_name[name] for name in sorted(mounts.writable) if name in by_name]
        if mounts.unknown_writable:
            # Which volume it is shows only in the dependencies of the volumes/mounts property.
            named = mounts.writable | mounts.read_only
            for key in ("volumes", "mounts"):
                mounted += [
                    dep
                    for dep in resource.property_dependencies.get(key, [])
                    if dep.resource_type == VOLUME and not _names(dep) & named
                ]
        for volume in mounted:
            found.setdefault(volume.urn, (volume, f"{role} data"))
    for volume in volumes:
        if labels_of(volume.props).get(DATA_LABEL) == "true":
            found.setdefault(volume.urn, (volume, "data"))
    return found


def _validate_data_volumes(args: StackValidationArgs, report: ReportViolation) -> None:
    for volume, holds in data_volumes(args.resources).values():
        if not volume.opts.protect:
            report(f"volume '{volume.name}' holds {holds} and is not protected.", volume.urn)


PROTECTED_DATA_VOLUMES: Final = StackValidationPolicy(
    name="data-volumes-protected",
    description=(
        "Volumes that hold data (mounted by Forgejo, the registry or the app, or labelled "
        "chocolate-factory.data=true) are protected, so no "
        "`pulumi up` or `destroy` deletes them. Fix: create the volume with "
        "opts=ResourceOptions(protect=True) (keep retain_on_delete=True as well if you like: the engine "
        "does not show that option to policy packs, so only protect counts here)."
    ),
    validate=_validate_data_volumes,
    enforcement_level=EnforcementLevel.ADVISORY,
)

STACK_POLICIES: Final = [EXPLICIT_PROVIDERS, PROTECTED_DATA_VOLUMES]
