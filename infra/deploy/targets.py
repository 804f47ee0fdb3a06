"""Which resources a CI deploy may touch: the environment's app component and what depends on it.

The Pulumi program owns the answer (infra/targets.py names the URNs of the app component of each
stack); this module only asks it, so that the deploy tool never targets a runner, Forgejo, the
registry or the tailnet.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


class TargetsError(Exception):
    """The program does not say which resources a CI deploy of this stack targets."""


PROGRAM_TARGETS_MODULE = "infra.targets"
PROGRAM_TARGETS_FUNCTION = "ci_deploy_targets"


def ci_targets(stack: str) -> list[str]:
    """URNs to pass to `pulumi up --target ... --target-dependents` for a CI deploy of `stack`."""
    try:
        module = importlib.import_module(PROGRAM_TARGETS_MODULE)
    except ImportError as exc:
        raise TargetsError(f"{PROGRAM_TARGETS_MODULE} cannot be imported: {exc}") from exc
    function: Callable[[str], list[str]] | None = getattr(module, PROGRAM_TARGETS_FUNCTION, None)
    if function is None:
        raise TargetsError(f"{PROGRAM_TARGETS_MODULE} has no {PROGRAM_TARGETS_FUNCTION}(stack)")
    targets = [str(urn) for urn in function(stack)]
    if not targets:
        raise TargetsError(
            f"{PROGRAM_TARGETS_MODULE}.{PROGRAM_TARGETS_FUNCTION}({stack!r}) named no resource: "
            "a CI deploy must never run an untargeted `pulumi up`"
        )
    return targets
