"""`StackOps` on Pulumi's Automation API: the real stack, driven through the `pulumi` CLI."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pulumi import automation as auto

from infra.deploy.stack import StackUpError

REPO_ROOT = Path(__file__).resolve().parents[2]


class AutomationStack:
    """A stack of the project in REPO_ROOT (Pulumi.yaml, stacks/Pulumi.<name>.yaml)."""

    def __init__(
        self,
        stack_name: str,
        work_dir: Path = REPO_ROOT,
        echo: Callable[[str], None] = print,
    ) -> None:
        self._name = stack_name
        self._echo = echo
        self._stack = auto.select_stack(stack_name=stack_name, work_dir=str(work_dir))

    @property
    def name(self) -> str:
        return self._name

    def get_config(self, key: str) -> str | None:
        """The value in the checkout's stack file, else the one the stack's last update ran with.

        CI runs in a fresh checkout, so the digest of the last deploy and the deploy tool's history of
        good digests live in the backend: in the config each update records in the stack's history.
        """
        try:
            return self._stack.get_config(key, path=True).value
        except auto.errors.CommandError as exc:
            if "not found" not in str(exc):
                raise
        return config_of_last_update(self._stack.history(page_size=20, show_secrets=False), key)

    def set_config(self, key: str, value: str) -> None:
        self._stack.set_config(key, auto.ConfigValue(value=value, secret=False), path=True)

    def up(self, targets: Sequence[str]) -> None:
        try:
            result = self._stack.up(
                target=list(targets) or None,
                target_dependents=bool(targets) or None,
                on_output=self._echo,
                suppress_outputs=True,
            )
        except auto.errors.CommandError as exc:
            raise StackUpError(str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)) from exc
        if result.summary.result != "succeeded":
            raise StackUpError(f"update ended as {result.summary.result!r}: {result.summary.message or ''}")

    def preview(self, policy_packs: Sequence[Path]) -> str:
        """`pulumi preview --policy-pack ...` of the whole stack; returns the engine's change summary."""
        try:
            result = self._stack.preview(
                policy_packs=[str(pack) for pack in policy_packs], on_output=self._echo, diff=True
            )
        except auto.errors.CommandError as exc:
            raise StackUpError(f"pulumi preview of {self._name} failed: {exc}") from exc
        return ", ".join(f"{op}: {count}" for op, count in sorted(result.change_summary.items()))

    def outputs(self) -> Mapping[str, object]:
        return {key: output.value for key, output in self._stack.outputs().items() if not output.secret}


def config_of_last_update(history: Sequence[auto.UpdateSummary], key: str) -> str | None:
    """`key` (a path key: `ns:name.field`) as the newest successful update in `history` (newest first,
    as `pulumi stack history` lists it) had it; None when that update did not set it."""
    namespace, _, path = key.partition(":")
    top, *fields = path.split(".")
    for summary in history:
        if summary.kind != "update" or summary.result != "succeeded":
            continue
        value = summary.config.get(f"{namespace}:{top}")
        if value is None or value.secret:
            return None
        found: object = value.value
        for name in fields:
            try:
                document = json.loads(found) if isinstance(found, str) else found
            except json.JSONDecodeError:
                return None
            if not isinstance(document, dict) or name not in document:
                return None
            found = document[name]
        return found if isinstance(found, str) else json.dumps(found)
    return None
