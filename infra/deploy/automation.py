"""`StackOps` on Pulumi's Automation API: the real stack, driven through the `pulumi` CLI."""

from __future__ import annotations

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
        try:
            return self._stack.get_config(key, path=True).value
        except auto.errors.CommandError as exc:
            if "not found" in str(exc):
                return None
            raise

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

    def outputs(self) -> Mapping[str, object]:
        return {key: output.value for key, output in self._stack.outputs().items() if not output.secret}
