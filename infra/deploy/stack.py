"""The one interface between the deploy decisions and Pulumi: read and write stack config, `up`, outputs.

`AutomationStack` (infra/deploy/automation.py) implements it with Pulumi's Automation API; the tests
implement it in memory (or on a local Docker engine) to drive every branch of the decision logic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class StackUpError(Exception):
    """`pulumi up` did not succeed; the message carries the engine's account."""


class StackOps(Protocol):
    """What the deploy tool needs from a Pulumi stack."""

    @property
    def name(self) -> str:
        """The stack's name: `dev`, `prod` or `local`."""
        ...

    def get_config(self, key: str) -> str | None:
        """The plaintext value of `key`, or None when it is not set.

        Keys are path keys, `<namespace>:<name>[.<field>...]`, as `pulumi config get --path` takes them.
        """
        ...

    def set_config(self, key: str, value: str) -> None:
        """Set the path key `key` in the stack's config file (plaintext: digests are not secrets)."""
        ...

    def up(self, targets: Sequence[str]) -> None:
        """`pulumi up --target T... --target-dependents`; all resources when `targets` is empty.

        Raises StackUpError when the update fails.
        """
        ...

    def outputs(self) -> Mapping[str, object]:
        """The stack's outputs after the last update."""
        ...
