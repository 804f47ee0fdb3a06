"""Resources as the engine hands them to a policy pack: type, name, URN, inputs (engine property
names), provider, parent, options and dependencies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from infra.config import PROJECT
from tests.infra.harness import UNKNOWN

DOCKER_PROVIDER_TYPE = "pulumi:providers:docker"
TAILSCALE_PROVIDER_TYPE = "pulumi:providers:tailscale"


def urn_of(stack: str, resource_type: str, name: str, parent_types: tuple[str, ...] = ()) -> str:
    qualified = "$".join((*parent_types, resource_type))
    return f"urn:pulumi:{stack}::{PROJECT}::{qualified}::{name}"


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]
    urn: str
    provider: Resource | None = None
    parent: str = ""
    protect: bool = False
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    def with_inputs(self, **changes: Any) -> Resource:
        """A copy with some inputs replaced (a value of None removes the input)."""
        inputs = copy.deepcopy(self.inputs)
        for key, value in changes.items():
            if value is None:
                inputs.pop(key, None)
            else:
                inputs[key] = value
        return replace(self, inputs=inputs)

    def changed(self, edit: Callable[[dict[str, Any]], None]) -> Resource:
        """A copy whose inputs `edit` changed in place."""
        inputs = copy.deepcopy(self.inputs)
        edit(inputs)
        return replace(self, inputs=inputs)


def stack_of(urn: str) -> str:
    return urn.split("::", 1)[0].split(":", 2)[2]


def default_provider(package: str, stack: str, version: str = "") -> Resource:
    """The provider the engine creates for resources that name none (`default_<version>`)."""
    name = "default_" + version.replace(".", "_") if version else "default"
    provider_type = f"pulumi:providers:{package}"
    return Resource(type=provider_type, name=name, inputs={}, urn=urn_of(stack, provider_type, name))


def docker_provider(stack: str, name: str, host: str) -> Resource:
    return Resource(
        type=DOCKER_PROVIDER_TYPE,
        name=name,
        inputs={"host": host},
        urn=urn_of(stack, DOCKER_PROVIDER_TYPE, name),
    )


def make_unknown(value: Any) -> Any:
    """`value` with every leaf replaced by UNKNOWN (the shape of lists and objects kept)."""
    if isinstance(value, dict):
        return {key: make_unknown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [make_unknown(item) for item in value]
    return UNKNOWN
