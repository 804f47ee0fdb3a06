"""Values not known during a preview: no policy crashes, none reports what it cannot know yet."""

from __future__ import annotations

from dataclasses import replace

import pytest

from infra.policy.platform_policies import POLICIES
from tests.policy import fixtures as f
from tests.policy.cases import CASES, RESOURCE_POLICIES, Case
from tests.policy.direct import run_policy
from tests.policy.engine import Analyzer, Diagnostic
from tests.policy.model import UNKNOWN, Resource, make_unknown

PREVIEW_FAILURE = "during preview"

# A compliant stack of each kind: the owner of the tailnet policy file, and another.
COMPLIANT_STACKS: dict[str, list[Resource]] = {
    "prod": [
        f.container("web-prod", "prod"),
        f.forgejo(),
        f.registry(),
        f.volume("forgejo-data", protect=True),
        f.volume("registry-data", protect=True),
        f.tailnet_key("ts-prod", "prod", tags=["tag:prod"]),
        f.acl(),
    ],
    "dev": [f.container(), f.runner(), f.remote_image("nginx:1.27.3"), f.tailnet_key()],
}


def _grpc(analyzer: Analyzer, policy: str, resources: list[Resource]) -> list[Diagnostic]:
    if policy in RESOURCE_POLICIES:
        return [d for resource in resources for d in analyzer.analyze(resource)]
    return analyzer.analyze_stack(resources)


def _with_unknown_leaves(case: Case) -> list[Resource]:
    return [replace(r, inputs=make_unknown(r.inputs)) for r in case.resources]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.policy}: {case.id}")
def test_unknown_leaves_crash_no_policy_in_process(case: Case) -> None:
    # An UnknownValueError escaping here would be a policy that reads an unknown value unguarded.
    for policy in POLICIES:
        run_policy(policy, _with_unknown_leaves(case))


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.policy}: {case.id}")
def test_unknown_leaves_crash_no_policy_over_grpc(case: Case, analyzer: Analyzer) -> None:
    diagnostics = _grpc(analyzer, case.policy, _with_unknown_leaves(case))
    assert [d.message for d in diagnostics if PREVIEW_FAILURE in d.message] == []
    if not case.violating:
        assert [d.detail for d in diagnostics if d.policy == case.policy] == []


def _one_input_unknown() -> list[tuple[str, list[Resource], Resource]]:
    """(where, the stack with one resource changed, that resource) for every top-level input and
    every first list element of every compliant resource."""
    variants = []
    for resources in COMPLIANT_STACKS.values():
        for index, resource in enumerate(resources):
            changed = [resource.with_inputs(**{key: UNKNOWN}) for key in resource.inputs]
            changed += [
                resource.with_inputs(**{key: [UNKNOWN, *value[1:]]})
                for key, value in resource.inputs.items()
                if isinstance(value, list) and value
            ]
            for variant in changed:
                where = next(k for k in variant.inputs if variant.inputs[k] != resource.inputs.get(k))
                stack = [*resources[:index], variant, *resources[index + 1 :]]
                variants.append((f"{resource.name}.{where}", stack, variant))
    return variants


@pytest.mark.parametrize("stack", COMPLIANT_STACKS.values(), ids=list(COMPLIANT_STACKS))
def test_compliant_stacks_pass(stack: list[Resource], analyzer: Analyzer) -> None:
    assert analyzer.preview(stack) == []


@pytest.mark.parametrize(
    ("where", "stack", "resource"), _one_input_unknown(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_compliant_resource_with_an_unknown_input_passes(
    where: str, stack: list[Resource], resource: Resource, analyzer: Analyzer
) -> None:
    for policy in POLICIES:
        targets = [resource] if policy.name in RESOURCE_POLICIES else stack
        assert run_policy(policy, targets) == [], policy.name
    assert [d.message for d in analyzer.analyze(resource) + analyzer.analyze_stack(stack)] == []


def test_unknown_policy_file_in_the_owner_stack_passes(analyzer: Analyzer) -> None:
    diagnostics = analyzer.analyze_stack([f.forgejo(), f.acl().with_inputs(acl=UNKNOWN)])
    assert diagnostics == []
