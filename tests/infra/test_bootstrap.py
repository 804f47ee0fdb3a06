"""An empty platform comes up in order: tailnet policy and keys, git node, runners, environments."""

from __future__ import annotations

import pytest

from tests.infra.harness import run_stack
from tests.infra.helpers import ACL, AUTH_KEY

COMPONENTS_BY_PHASE = {
    "tailnet": {"Node", "Tailnet"},
    "git": {"Node", "Tailnet", "Forgejo", "Registry"},
    "runners": {"Node", "Tailnet", "Forgejo", "Registry", "Runner"},
    None: {"Node", "Tailnet", "Forgejo", "Registry", "Runner", "AppEnvironment"},
}


@pytest.mark.parametrize("phase", list(COMPONENTS_BY_PHASE))
def test_each_bootstrap_phase_adds_the_next_components(phase: str | None) -> None:
    run = run_stack("prod", {"bootstrapPhase": phase})
    components = {
        r.type.removeprefix("chocolate:index:") for r in run.resources if r.type.startswith("chocolate:")
    }
    assert components == COMPONENTS_BY_PHASE[phase]


def test_the_first_phase_creates_the_policy_and_every_auth_key_the_later_phases_use() -> None:
    first = run_stack("prod", {"bootstrapPhase": "tailnet"})
    full = run_stack("prod")
    assert len(first.of_type(ACL)) == 1
    assert {k.name for k in first.of_type(AUTH_KEY)} == {k.name for k in full.of_type(AUTH_KEY)}
    assert first.containers == []


def test_an_unknown_phase_is_a_config_error() -> None:
    from infra.config import ConfigError

    with pytest.raises(
        ConfigError, match="chocolate-factory:bootstrapPhase: Input should be 'tailnet', 'git'"
    ):
        run_stack("dev", {"bootstrapPhase": "everything"})
