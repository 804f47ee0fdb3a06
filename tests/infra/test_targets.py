"""A CI deploy touches only the app environment: never a runner, Forgejo, the registry or the tailnet."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infra.targets import ci_deploy_arguments, ci_deploy_targets, main, urn_matches
from infra.tokens import APP_ENVIRONMENT, OPERATOR_COMPONENTS
from tests.infra.harness import CapturedResource, StackRun


def _targeted(run: StackRun) -> set[str]:
    """URNs a `pulumi up --target ... --target-dependents` of the CI targets would update."""
    patterns = ci_deploy_targets(run.stack)
    selected = {r.urn for r in run.resources if any(urn_matches(p, r.urn) for p in patterns)}
    changed = True
    while changed:  # --target-dependents: anything that depends on (or is parented to) a selected resource
        dependents = {
            r.urn
            for r in run.resources
            if r.urn not in selected
            and (r.parent in selected or selected.intersection(r.dependencies) or r.provider in selected)
        }
        changed = bool(dependents)
        selected |= dependents
    return selected


def _owner(run: StackRun, resource: CapturedResource) -> str:
    if resource.type.startswith("chocolate:index:"):
        return resource.type
    return next(a.type for a in run.ancestors(resource) if a.type.startswith("chocolate:index:"))


def test_ci_targets_cover_the_app_environment_and_nothing_the_operator_owns(run: StackRun) -> None:
    targeted = _targeted(run)
    app_resources = {r.urn for r in run.resources if _owner(run, r) == APP_ENVIRONMENT}
    assert app_resources and targeted == app_resources
    runners = [r for r in run.resources if r.type == "chocolate:index:Runner"]
    assert runners
    operator = {r.urn for r in run.resources if _owner(run, r) in OPERATOR_COMPONENTS}
    assert {r.urn for r in runners} <= operator
    assert not targeted & operator


def test_ci_deploy_arguments_name_the_component_and_its_children() -> None:
    assert ci_deploy_arguments("dev") == [
        "--target",
        "urn:pulumi:dev::chocolate-factory::chocolate:index:AppEnvironment::dev",
        "--target",
        "urn:pulumi:dev::chocolate-factory::chocolate:index:AppEnvironment$**::*",
        "--target-dependents",
    ]


def test_target_globs_match_as_pulumi_matches_them() -> None:
    prefix = "urn:pulumi:dev::chocolate-factory::chocolate:index:"
    child = prefix + "AppEnvironment$docker:index/container:Container::app-dev"
    runner = prefix + "Runner$docker:index/container:Container::runner-dev"
    pattern = "urn:pulumi:dev::chocolate-factory::chocolate:index:AppEnvironment$**::*"
    assert urn_matches(pattern, child)
    assert not urn_matches(pattern, runner)
    assert not urn_matches("urn:pulumi:dev::*::x", "urn:pulumi:dev::a::b::x")


def test_the_command_line_prints_the_arguments_a_deploy_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prod"]) == 0
    assert capsys.readouterr().out.split() == [
        "--target",
        "urn:pulumi:prod::chocolate-factory::chocolate:index:AppEnvironment::prod",
        "--target",
        "'urn:pulumi:prod::chocolate-factory::chocolate:index:AppEnvironment$**::*'",
        "--target-dependents",
    ]


def test_config_and_targets_load_without_the_pulumi_sdk() -> None:
    code = "import sys, infra.config, infra.targets; sys.exit('pulumi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
