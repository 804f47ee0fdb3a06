"""Each policy on resources it accepts and resources it rejects, in-process and over gRPC."""

from __future__ import annotations

import pytest
from pulumi_policy import Policy

from infra.policy.platform_policies import POLICIES
from tests.policy.cases import ADVISORY, CASES, RESOURCE_POLICIES, Case
from tests.policy.direct import run_policy
from tests.policy.engine import Analyzer
from tests.policy.report import FIRED_OVER_GRPC

POLICY_BY_NAME: dict[str, Policy] = {policy.name: policy for policy in POLICIES}


def test_every_policy_has_a_compliant_and_a_violating_case() -> None:
    for name in POLICY_BY_NAME:
        kinds = {case.violating for case in CASES if case.policy == name}
        assert kinds == {True, False}, (
            f"{name} lacks a {'violating' if True not in kinds else 'compliant'} case"
        )


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.policy}: {case.id}")
def test_policy_in_process(case: Case) -> None:
    messages = run_policy(POLICY_BY_NAME[case.policy], list(case.resources))
    assert messages == list(case.expected)


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.policy}: {case.id}")
def test_policy_over_grpc(case: Case, analyzer: Analyzer) -> None:
    if case.policy in RESOURCE_POLICIES:
        diagnostics = [d for resource in case.resources for d in analyzer.analyze(resource)]
    else:
        diagnostics = analyzer.analyze_stack(list(case.resources))
    mine = [d for d in diagnostics if d.policy == case.policy]
    description = POLICY_BY_NAME[case.policy].description
    assert [d.message for d in mine] == [f"{description}\n{message}" for message in case.expected]
    expected_level = "advisory" if case.policy in ADVISORY else "mandatory"
    assert {d.level for d in mine} <= {expected_level}
    if mine:
        FIRED_OVER_GRPC.add(case.policy)
