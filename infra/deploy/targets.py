"""Which resources a CI deploy may touch: the environment's app component and what depends on it.

The Pulumi program owns the answer (`infra.targets.ci_deploy_targets`); this module only refuses an
empty answer, so that the deploy tool never runs an untargeted `pulumi up` that could replace a
runner, Forgejo, the registry or the tailnet.
"""

from __future__ import annotations

from infra.config import ConfigError
from infra.targets import ci_deploy_targets


class TargetsError(Exception):
    """The program names no resource a CI deploy of this stack may target."""


def ci_targets(stack: str) -> list[str]:
    """URNs to pass to `pulumi up --target ... --target-dependents` for a CI deploy of `stack`."""
    try:
        targets = ci_deploy_targets(stack)
    except ConfigError as exc:
        raise TargetsError(str(exc)) from exc
    if not targets:
        raise TargetsError(
            f"stacks/Pulumi.{stack}.yaml declares no app environment: a CI deploy of {stack} has nothing "
            "to target, and never runs an untargeted `pulumi up`"
        )
    return targets
