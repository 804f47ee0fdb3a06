"""The pack against every resource of the real program, run under mocks for each stack file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from tests.policy import cases as p
from tests.policy.engine import Analyzer, Diagnostic
from tests.policy.model import PROJECT, Resource, default_provider, make_unknown
from tests.policy.report import RESULTS, StackResult
from tests.policy.stacks import STACKS, stack_resources

PREVIEW_FAILURE = "during preview"


@pytest.fixture(scope="module")
def applied() -> dict[str, list[Resource]]:
    """Each stack's resources as `pulumi up` analyzes them (every value known)."""
    return {stack: stack_resources(stack) for stack in STACKS}


def _record(stack: str, mode: str, resources: list[Resource], diagnostics: list[Diagnostic]) -> StackResult:
    result = StackResult(
        stack=stack,
        mode=mode,
        resources=len(resources),
        mandatory=[f"{d.policy}: {d.detail}" for d in diagnostics if d.level == "mandatory"],
        advisory=[f"{d.policy}: {d.detail}" for d in diagnostics if d.level == "advisory"],
    )
    RESULTS.append(result)
    return result


@pytest.mark.parametrize("stack", STACKS)
def test_stack_has_no_mandatory_violation(
    stack: str, applied: dict[str, list[Resource]], analyzer: Analyzer
) -> None:
    resources = applied[stack]
    diagnostics = analyzer.preview(resources)
    result = _record(stack, "up", resources, diagnostics)
    assert result.mandatory == []
    assert {r.type for r in resources} >= {"docker:index/container:Container", "pulumi:providers:docker"}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_preview_with_unknown_outputs_passes(stack: str, analyzer: Analyzer) -> None:
    resources = stack_resources(stack, preview=True)
    diagnostics = analyzer.preview(resources)
    result = _record(stack, "preview", resources, diagnostics)
    assert result.mandatory == []
    assert [d.message for d in diagnostics if PREVIEW_FAILURE in d.message] == []


@pytest.mark.parametrize("stack", STACKS)
def test_stack_with_every_value_unknown_crashes_no_policy(
    stack: str, applied: dict[str, list[Resource]], analyzer: Analyzer
) -> None:
    resources = [replace(r, inputs=make_unknown(r.inputs)) for r in applied[stack]]
    diagnostics = analyzer.preview(resources)
    assert [d for d in diagnostics if d.level == "mandatory" or PREVIEW_FAILURE in d.message] == []


def test_data_volumes_are_reported_until_protected(
    applied: dict[str, list[Resource]], analyzer: Analyzer
) -> None:
    resources = applied["prod"]
    reported = {d.detail for d in analyzer.preview(resources) if d.policy == p.VOLUMES}
    assert "volume 'forgejo-data' holds forgejo data and is not protected." in reported
    assert "volume 'registry-data' holds registry data and is not protected." in reported
    protected = [replace(r, protect=r.type == "docker:index/volume:Volume") for r in resources]
    assert [d for d in analyzer.preview(protected) if d.policy == p.VOLUMES] == []


# --- deliberately broken copies --------------------------------------------------------------------


def _named(resources: list[Resource], name: str, type_suffix: str = "") -> Resource:
    matches = [r for r in resources if r.name == name and r.type.endswith(type_suffix)]
    assert len(matches) == 1, f"the program no longer declares {name!r}{type_suffix}"
    return matches[0]


def _swap(resources: list[Resource], old: Resource, new: Resource) -> list[Resource]:
    return [new if r is old else r for r in resources]


def _edit(name: str, edit: Callable[[dict[str, Any]], None], suffix: str = "Container") -> Callable[..., Any]:
    def apply(resources: list[Resource]) -> list[Resource]:
        target = _named(resources, name, suffix)
        return _swap(resources, target, target.changed(edit))

    return apply


def _env_text(entry: Any) -> str:
    return str(getattr(entry, "value", entry))


def _drop_env(prefix: str) -> Callable[[dict[str, Any]], None]:
    def edit(inputs: dict[str, Any]) -> None:
        inputs["envs"] = [e for e in inputs.get("envs", []) if not _env_text(e).startswith(prefix)]

    return edit


def _add_env(entry: str) -> Callable[[dict[str, Any]], None]:
    def edit(inputs: dict[str, Any]) -> None:
        inputs["envs"] = [*inputs.get("envs", []), entry]

    return edit


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    def edit(inputs: dict[str, Any]) -> None:
        for key, value in values.items():
            if value is None:
                inputs.pop(key, None)
            else:
                inputs[key] = value

    return edit


def _add_socket(inputs: dict[str, Any]) -> None:
    inputs["volumes"] = [
        *inputs.get("volumes", []),
        {"hostPath": "/var/run/docker.sock", "containerPath": "/d.sock"},
    ]


def _open_ports(inputs: dict[str, Any]) -> None:
    inputs["ports"] = [{**port, "ip": "0.0.0.0"} for port in inputs["ports"]]


def _acl_copied_into_dev(resources: list[Resource]) -> list[Resource]:
    acl = _named(stack_resources("prod"), "tailnet-policy", "Acl")
    return [*resources, replace(acl, urn=acl.urn.replace("urn:pulumi:prod::", "urn:pulumi:dev::"))]


def _acl_without_tests(resources: list[Resource]) -> list[Resource]:
    import json

    acl = _named(resources, "tailnet-policy", "Acl")
    document = json.loads(acl.inputs["acl"])
    document.pop("tests")
    return _swap(resources, acl, acl.with_inputs(acl=json.dumps(document)))


def _on_default_provider(name: str) -> Callable[[list[Resource]], list[Resource]]:
    def apply(resources: list[Resource]) -> list[Resource]:
        target = _named(resources, name)
        stack = target.urn.split("::", 1)[0].rsplit(":", 1)[1]
        moved = replace(target, provider=default_provider("docker", stack, "5.2.0"))
        return _swap(resources, target, moved)

    return apply


@dataclass(frozen=True)
class Break:
    id: str
    stack: str
    apply: Callable[[list[Resource]], list[Resource]]
    fails: frozenset[str]


def brk(id: str, stack: str, apply: Callable[[list[Resource]], list[Resource]], *fails: str) -> Break:
    return Break(id, stack, apply, frozenset(fails))


BREAKS = (
    brk("privileged web server", "dev", _edit("web-dev", _set(privileged=True)), p.PRIVILEGED),
    brk("app mounts the docker socket", "dev", _edit("app-dev", _add_socket), p.SOCKET),
    brk("app runs as root", "dev", _edit("app-dev", _set(user="root")), p.NON_ROOT),
    brk("forgejo without health check", "prod", _edit("forgejo", _set(healthcheck=None)), p.HEALTH),
    brk("registry without log rotation", "prod", _edit("registry", _set(logOpts=None)), p.LOGS),
    brk(
        "prod web server by tag",
        "prod",
        _edit("web-prod", _set(image="docker.io/library/nginx:1.27-alpine")),
        p.PINNED,
    ),
    brk("local web published on every interface", "local", _edit("web-local", _open_ports), p.PORTS),
    brk(
        "API key in app env",
        "dev",
        _edit("app-dev", _add_env("CF_ANTHROPIC_API_KEY=sk-ant-api03-x")),
        p.SECRETS,
    ),
    brk(
        "app with a writable root and Docker's default capabilities",
        "dev",
        _edit("app-dev", _set(readOnly=False, capabilities=None)),
        p.CONFINED,
    ),
    brk(
        "forgejo registration open",
        "prod",
        _edit("forgejo", _drop_env("FORGEJO__service__DISABLE_REGISTRATION")),
        p.FORGEJO,
    ),
    brk("local registry without auth", "local", _edit("registry", _drop_env("REGISTRY_AUTH")), p.REGISTRY),
    brk(
        "runner handed a docker daemon",
        "dev",
        _edit("runner-dev", _add_env("DOCKER_HOST=tcp://127.0.0.1:2375")),
        p.RUNNERS,
    ),
    brk(
        "app trusting its whole network",
        "prod",
        _edit("app-prod", _add_env('CF_TRUSTED_PROXIES=["10.213.0.0/24"]')),
        p.APP_TRUST,
    ),
    brk(
        "auth key not preauthorized",
        "dev",
        _edit("ts-dev-authkey", _set(preauthorized=False), suffix="TailnetKey"),
        p.KEYS,
    ),
    brk("policy file declared by dev", "dev", _acl_copied_into_dev, p.ACL),
    brk("policy file without tests", "prod", _acl_without_tests, p.ACL),
    brk("volume on the default provider", "dev", _on_default_provider("app-dev-data"), p.PROVIDERS),
)


@pytest.mark.parametrize("broken", BREAKS, ids=lambda b: f"{b.stack}: {b.id}")
def test_broken_copy_of_a_stack_fails_with_the_expected_policies(
    broken: Break, applied: dict[str, list[Resource]], analyzer: Analyzer
) -> None:
    resources = broken.apply(list(applied[broken.stack]))
    diagnostics = analyzer.preview(resources)
    assert {d.policy for d in diagnostics if d.level == "mandatory"} == broken.fails


def test_breaks_cover_every_mandatory_policy() -> None:
    mandatory = set(p.RESOURCE_POLICIES + p.STACK_POLICIES) - set(p.ADVISORY)
    assert {policy for b in BREAKS for policy in b.fails} == mandatory


def test_root_stack_resource_is_sent(applied: dict[str, list[Resource]]) -> None:
    roots = [r for r in applied["dev"] if r.type == "pulumi:pulumi:Stack"]
    assert [r.urn for r in roots] == [f"urn:pulumi:dev::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-dev"]
