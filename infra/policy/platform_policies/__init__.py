"""The platform's security and operations rules, as pulumi-policy policies.

Imported by the pack's `__main__.py` (as the top-level package `platform_policies`, the way the
engine runs a pack from its directory) and by tests (as `infra.policy.platform_policies`).
"""

from __future__ import annotations

from typing import Final

from pulumi_policy import Policy

from .containers import CONTAINER_POLICIES
from .services import SERVICE_POLICIES
from .stack import STACK_POLICIES
from .tailnet import TAILNET_POLICIES

PACK_NAME: Final = "chocolate-factory-platform"

POLICIES: Final[list[Policy]] = [
    *CONTAINER_POLICIES,
    *SERVICE_POLICIES,
    *TAILNET_POLICIES,
    *STACK_POLICIES,
]

__all__ = ["PACK_NAME", "POLICIES"]
