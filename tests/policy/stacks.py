"""Resources of the real program, run under mocks for a stack file, in the form the engine sends to
a policy pack: inputs from the exact Struct the SDK registered (output values resolved, secrets kept
as secrets, unknowns as the engine's sentinel, internal keys dropped), each custom resource bound to
its explicit provider or to the engine's default provider, and the root stack resource included."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from google.protobuf import json_format

from tests.infra.harness import (
    OUTPUT_VALUE_SIG,
    RESOURCE_SIG,
    SECRET_SIG,
    SPECIAL_SIG_KEY,
    UNKNOWN,
    UNKNOWN_WIRE,
    CapturedResource,
    Secret,
    StackRun,
    run_stack,
)
from tests.policy.model import Resource, default_provider

STACKS = ("dev", "prod", "local")


def engine_value(value: Any) -> Any:
    """A registered property value as the engine forwards it to analyzers."""
    if isinstance(value, dict):
        sig = value.get(SPECIAL_SIG_KEY)
        if sig == SECRET_SIG:
            return Secret(engine_value(value.get("value")))
        if sig == OUTPUT_VALUE_SIG:
            if "value" not in value:
                return UNKNOWN
            inner = engine_value(value["value"])
            return Secret(inner) if value.get("secret") else inner
        if sig == RESOURCE_SIG:
            resource_id = value.get("id")
            return engine_value(resource_id) if resource_id else value.get("urn")
        return {key: engine_value(item) for key, item in value.items() if not key.startswith("__")}
    if isinstance(value, list):
        return [engine_value(item) for item in value]
    if value == UNKNOWN_WIRE:
        return UNKNOWN
    return value


def _package_version(package: str) -> str:
    try:
        return metadata.version(f"pulumi_{package}")
    except metadata.PackageNotFoundError:
        return ""


def _is_provider(resource_type: str) -> bool:
    return resource_type.startswith("pulumi:providers:")


def engine_resources(run: StackRun) -> list[Resource]:
    captured = {resource.urn: resource for resource in run.resources}
    root_urns = {r.parent for r in run.resources if r.parent and r.parent not in captured}
    resources: list[Resource] = [
        Resource(type="pulumi:pulumi:Stack", name=f"{run.project}-{run.stack}", inputs={}, urn=urn)
        for urn in sorted(root_urns)
    ]
    providers: dict[str, Resource] = {}

    def convert(item: CapturedResource) -> Resource:
        return Resource(
            type=item.type,
            name=item.name,
            inputs=engine_value(json_format.MessageToDict(item.wire_inputs)),
            urn=item.urn,
            parent=item.parent or "",
            protect=item.protect,
            dependencies=list(item.dependencies),
            property_dependencies={key: list(urns) for key, urns in item.property_dependencies.items()},
        )

    for item in run.resources:
        if _is_provider(item.type):
            providers[item.urn] = convert(item)
    for item in run.resources:
        resource = providers.get(item.urn) or convert(item)
        if item.custom and not _is_provider(item.type):
            if item.provider:
                resource.provider = providers[item.provider]
            else:
                package = item.type.split(":", 1)[0]
                resource.provider = default_provider(package, run.stack, _package_version(package))
        resources.append(resource)
    return resources


def stack_resources(
    stack: str, *, preview: bool = False, overrides: dict[str, Any] | None = None
) -> list[Resource]:
    return engine_resources(run_stack(stack, overrides, preview=preview))
