"""Type tokens of the platform's components, and which side of the operator/CI split each is on."""

from __future__ import annotations

NODE = "chocolate:index:Node"
TAILNET = "chocolate:index:Tailnet"
FORGEJO = "chocolate:index:Forgejo"
REGISTRY = "chocolate:index:Registry"
RUNNER = "chocolate:index:Runner"
APP_ENVIRONMENT = "chocolate:index:AppEnvironment"

OPERATOR_COMPONENTS: frozenset[str] = frozenset({NODE, TAILNET, FORGEJO, REGISTRY, RUNNER})
"""Changed only by an operator's `pulumi up`: never by a deploy that a runner is running."""

CI_COMPONENTS: frozenset[str] = frozenset({APP_ENVIRONMENT})
"""What a CI deploy updates (`pulumi up --target ... --target-dependents`)."""
