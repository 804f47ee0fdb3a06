"""Secrets stay secrets: on the wire to the engine, in the stack outputs, and out of plain properties."""

from __future__ import annotations

from typing import Any

from tests.infra.harness import Secret, StackRun


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_secret_values_appear_only_in_properties_sent_as_secrets(run: StackRun) -> None:
    secrets = [v for k, v in run.config.items() if k in run.secret_keys]
    assert secrets
    for resource in run.resources:
        for name, value in resource.inputs.items():
            leaked = [s for s in _strings(value) if any(secret in s for secret in secrets)]
            if leaked:
                assert name in resource.secret_properties, (
                    f"{resource.name}.{name} holds a secret in plain text"
                )


def test_generated_auth_keys_are_never_sent_in_plain_text(runs: dict[str, StackRun]) -> None:
    for run in (runs["prod"], runs["dev"]):
        for resource in run.resources:
            for name, value in resource.inputs.items():
                if any(s.startswith("tskey-") for s in _strings(value)):
                    assert name in resource.secret_properties, f"{resource.name}.{name}"


def test_secret_stack_outputs_stay_secret(run: StackRun) -> None:
    login = run.outputs["registryLogin"]
    assert login["password"] == Secret("placeholder-registryPassword")
    plain = _strings({k: v for k, v in run.outputs.items()})
    assert not [s for s in plain if s.startswith("placeholder-")]
