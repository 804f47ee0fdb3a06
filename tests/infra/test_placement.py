"""Each stack declares the expected containers, each on the expected node's Docker engine."""

from __future__ import annotations

import pytest

from tests.infra.harness import StackRun
from tests.infra.helpers import DOCKER_PROVIDER, component_of, node_of

EXPECTED = {
    "prod": {
        "ts-forgejo": ("git", "chocolate:index:Forgejo"),
        "forgejo": ("git", "chocolate:index:Forgejo"),
        "ts-registry": ("git", "chocolate:index:Registry"),
        "registry": ("git", "chocolate:index:Registry"),
        "ts-runner-prod": ("prod", "chocolate:index:Runner"),
        "runner-prod": ("prod", "chocolate:index:Runner"),
        "ts-prod": ("prod", "chocolate:index:AppEnvironment"),
        "web-prod": ("prod", "chocolate:index:AppEnvironment"),
        "app-prod": ("prod", "chocolate:index:AppEnvironment"),
        "proxy-prod": ("prod", "chocolate:index:AppEnvironment"),
    },
    "dev": {
        "ts-runner-dev": ("dev", "chocolate:index:Runner"),
        "runner-dev": ("dev", "chocolate:index:Runner"),
        "ts-runner-ci": ("dev", "chocolate:index:Runner"),
        "runner-ci": ("dev", "chocolate:index:Runner"),
        "ts-dev": ("dev", "chocolate:index:AppEnvironment"),
        "web-dev": ("dev", "chocolate:index:AppEnvironment"),
        "app-dev": ("dev", "chocolate:index:AppEnvironment"),
        "proxy-dev": ("dev", "chocolate:index:AppEnvironment"),
    },
    "local": {
        "forgejo": ("local", "chocolate:index:Forgejo"),
        "registry": ("local", "chocolate:index:Registry"),
        "runner-local": ("local", "chocolate:index:Runner"),
        "web-local": ("local", "chocolate:index:AppEnvironment"),
        "app-local": ("local", "chocolate:index:AppEnvironment"),
    },
}


@pytest.mark.parametrize("stack", sorted(EXPECTED))
def test_each_container_runs_on_its_node_inside_its_component(runs: dict[str, StackRun], stack: str) -> None:
    run = runs[stack]
    placed = {c.name: (node_of(run, c), component_of(run, c).type) for c in run.containers}
    assert placed == EXPECTED[stack]


def test_every_docker_resource_names_an_explicit_provider(run: StackRun) -> None:
    docker_resources = [r for r in run.resources if r.custom and r.type.startswith("docker:")]
    assert docker_resources
    unbound = [r.name for r in docker_resources if r.provider is None]
    assert unbound == []
    assert {run.by_urn(r.provider).type for r in docker_resources if r.provider} == {DOCKER_PROVIDER}


def test_each_node_provider_reaches_its_engine_over_ssh_or_the_local_socket(
    runs: dict[str, StackRun],
) -> None:
    hosts = {
        (stack, p.name): p.inputs["host"] for stack, run in runs.items() for p in run.of_type(DOCKER_PROVIDER)
    }
    assert hosts == {
        ("dev", "dev-docker"): "ssh://deploy@dev-node",
        ("prod", "git-docker"): "ssh://deploy@git-node",
        ("prod", "prod-docker"): "ssh://deploy@prod-node",
        ("local", "local-docker"): "unix:///var/run/docker.sock",
    }


def test_every_resource_is_parented_to_a_component_or_is_one(run: StackRun) -> None:
    stack_urn_prefix = f"urn:pulumi:{run.stack}::{run.project}::pulumi:pulumi:Stack::"
    for resource in run.resources:
        if resource.type.startswith("chocolate:index:"):
            assert resource.parent is not None and resource.parent.startswith(stack_urn_prefix)
        else:
            assert component_of(run, resource).type.startswith("chocolate:index:"), resource.name


def test_stack_outputs_tell_the_operator_where_everything_is(runs: dict[str, StackRun]) -> None:
    prod, dev, local = runs["prod"].outputs, runs["dev"].outputs, runs["local"].outputs
    assert prod["dashboardUrls"] == {"prod": "https://factory.tailfa57c0.ts.net/"}
    assert prod["forgejoUrl"] == "https://git.tailfa57c0.ts.net/"
    assert prod["registryUrl"] == "https://registry.tailfa57c0.ts.net"
    assert prod["nodes"] == ["git", "prod"]
    assert dev["dashboardUrls"] == {"dev": "https://factory-dev.tailfa57c0.ts.net/"}
    assert dev["nodes"] == ["dev"]
    assert "forgejoUrl" not in dev
    assert local["dashboardUrls"] == {"local": "http://127.0.0.1:8080/"}
    assert local["forgejoUrl"] == "http://127.0.0.1:3000/"
    for outputs, stack in ((prod, "prod"), (dev, "dev"), (local, "local")):
        digest = outputs["imageDigests"][stack]
        assert digest.startswith("sha256:") and len(digest) == 71
        assert outputs["appImages"][stack].endswith("@" + digest)
        assert outputs["appImageDigest"] == digest
        assert outputs["appUrl"] == outputs["dashboardUrls"][stack]
