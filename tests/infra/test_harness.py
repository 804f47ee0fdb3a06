"""The harness itself: runs are isolated from each other, and a preview leaves computed values unknown."""

from __future__ import annotations

from tests.infra.harness import UNKNOWN, StackRun, run_stack


def test_runs_in_one_process_do_not_leak_into_each_other(runs: dict[str, StackRun]) -> None:
    again = run_stack("dev")
    assert sorted(r.urn for r in again.resources) == sorted(r.urn for r in runs["dev"].resources)
    assert {r.urn: r.inputs for r in again.resources} == {r.urn: r.inputs for r in runs["dev"].resources}
    assert again.outputs == runs["dev"].outputs
    assert not any(r.urn.startswith("urn:pulumi:prod::") for r in again.resources)


def test_a_preview_leaves_values_computed_by_the_engine_unknown_and_secrets_secret() -> None:
    preview = run_stack("dev", preview=True)
    app = preview.container("app-dev")
    assert app.inputs["image"] is UNKNOWN
    assert UNKNOWN in app.inputs["envs"]
    sidecar = preview.container("ts-dev-files")
    assert sidecar.inputs["uploads"][0]["content"] is UNKNOWN
    assert "uploads" in sidecar.secret_properties
    assert preview.outputs["appImageDigest"] is UNKNOWN


def test_urns_are_built_as_the_engine_builds_them(runs: dict[str, StackRun]) -> None:
    prod = runs["prod"]
    assert prod.container("app-prod").urn == (
        "urn:pulumi:prod::chocolate-factory::chocolate:index:AppEnvironment$docker:index/container:Container::app-prod"
    )
    assert prod.named("prod", "chocolate:index:AppEnvironment").urn == (
        "urn:pulumi:prod::chocolate-factory::chocolate:index:AppEnvironment::prod"
    )
    assert prod.named("git-docker").urn == (
        "urn:pulumi:prod::chocolate-factory::chocolate:index:Node$pulumi:providers:docker::git-docker"
    )
