"""Run one policy in-process through pulumi-policy's own argument objects, built from the same wire
form the engine sends (numbers arrive as floats, secrets unwrapped, unknowns as sentinels)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from tests.policy.engine import to_struct
from tests.policy.model import Resource


def _props(inputs: Mapping[str, Any]) -> Any:
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(to_struct(inputs))))


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        resource.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], resource.parent or None
    )


def _provider(resource: Resource) -> PolicyProviderResource | None:
    provider = resource.provider
    if provider is None:
        return None
    return PolicyProviderResource(provider.type, _props(provider.inputs), provider.urn, provider.name)


def run_policy(
    policy: Policy, resources: list[Resource], config: Mapping[str, Any] | None = None
) -> list[str]:
    """The messages `policy` reports for `resources` (each one for a resource policy, all at once
    for a stack policy)."""
    messages: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        messages.append(message)

    if isinstance(policy, ResourceValidationPolicy):
        for resource in resources:
            args = ResourceValidationArgs(
                resource.type,
                _props(resource.inputs),
                resource.urn,
                resource.name,
                _options(resource),
                _provider(resource),
                config,
            )
            policy.validate(args, report)
    elif isinstance(policy, StackValidationPolicy):
        by_urn = {
            r.urn: PolicyResource(
                r.type, _props(r.inputs), r.urn, r.name, _options(r), _provider(r), None, [], {}
            )
            for r in resources
        }
        for r in resources:
            policy_resource = by_urn[r.urn]
            policy_resource.parent = by_urn.get(r.parent)
            policy_resource.dependencies = [by_urn[u] for u in r.dependencies if u in by_urn]
            policy_resource.property_dependencies = {
                key: [by_urn[u] for u in urns if u in by_urn] for key, urns in r.property_dependencies.items()
            }
        policy.validate(StackValidationArgs(list(by_urn.values()), config), report)
    return messages
