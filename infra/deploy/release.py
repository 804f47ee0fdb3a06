"""The deploy decisions: release a digest, check it, and revert the stack when it is bad.

    deploy(digest)   record what runs now -> set the digest -> up -> wait for /health -> smoke
                     on any failure: set the last good digest -> up -> wait -> smoke again
    rollback([to])   set an earlier good digest (or `to`) -> up -> wait -> smoke

Every step is written to the release's account, which the CLI prints and exits with its code:
0 the requested digest runs and passed smoke; 1 it failed and the previous good digest runs again
(smoke passed); 2 the environment may be broken and needs an operator (the account says what to run).
"""

from __future__ import annotations

import enum
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from infra.deploy.keys import (
    DEPLOYED_DIGEST_OUTPUT,
    GOOD_DIGESTS_KEPT,
    GOOD_DIGESTS_KEY,
    IMAGE_DIGEST_KEY,
    URL_OUTPUT,
)
from infra.deploy.smoke import SmokeReport, SmokeTarget, normalize_digest, run_smoke, wait_for_health
from infra.deploy.stack import StackOps, StackUpError

DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")

Smoke = Callable[[SmokeTarget], SmokeReport]
WaitForHealth = Callable[[str, float], "str | None"]


class ReleaseConfigError(Exception):
    """The stack's deploy config or the command's arguments cannot be used; the message names the fix."""


class Outcome(enum.Enum):
    DEPLOYED = "deployed"
    REVERTED = "reverted"
    ROLLED_BACK = "rolled back"
    ROLLBACK_FAILED = "rollback failed, previous digest restored"
    NEEDS_OPERATOR = "needs an operator"

    @property
    def exit_code(self) -> int:
        return {
            Outcome.DEPLOYED: 0,
            Outcome.ROLLED_BACK: 0,
            Outcome.REVERTED: 1,
            Outcome.ROLLBACK_FAILED: 1,
            Outcome.NEEDS_OPERATOR: 2,
        }[self]


@dataclass
class Release:
    """What one deploy or rollback did, step by step, and how it ended."""

    stack: str
    action: str
    outcome: Outcome = Outcome.NEEDS_OPERATOR
    headline: str = ""
    steps: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    def account(self) -> str:
        lines = [f"{self.action} on stack {self.stack}: {self.outcome.value.upper()} - {self.headline}"]
        lines += [f"  {step}" for step in self.steps]
        return "\n".join(lines)


@dataclass(frozen=True)
class ReleaseOptions:
    """How a release checks the environment after `pulumi up`."""

    base_url: str | None = None
    expected_version: str | None = None
    admin_login: str | None = None
    health_timeout: float = 120.0
    smoke_timeout: float = 10.0


def validate_digest(value: str, what: str) -> str:
    digest = normalize_digest(value)
    if not DIGEST_PATTERN.match(digest):
        raise ReleaseConfigError(f"{what} {value!r} is not an image digest: expected sha256:<64 hex digits>")
    return digest


class Releaser:
    """Runs deploys and rollbacks of one stack through a `StackOps`."""

    def __init__(
        self,
        ops: StackOps,
        targets: Sequence[str],
        options: ReleaseOptions | None = None,
        *,
        smoke: Smoke = run_smoke,
        wait_health: WaitForHealth = wait_for_health,
        echo: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.ops = ops
        self.targets = list(targets)
        self.options = options or ReleaseOptions()
        self.smoke = smoke
        self.wait_health = wait_health
        self.echo = echo
        self._started = time.monotonic()

    # --- the two commands ------------------------------------------------------------------------

    def deploy(self, digest: str) -> Release:
        release = Release(stack=self.ops.name, action="deploy")
        self._started = time.monotonic()
        new = validate_digest(digest, "the digest to deploy")
        history = self._good_digests()
        configured = self._configured_digest()
        # What runs when a deploy starts passed its own deploy's smoke (or was reverted to): it is the
        # digest to go back to. It joins the history before the update, which records that config.
        if configured is not None:
            history = [item for item in history if item != configured] + [configured]
        last_good = next((item for item in reversed(history) if item != new), None)
        self._step(release, f"running now: {self._running_description(configured)}")
        self._step(release, f"last good digest: {last_good or 'none recorded'}")
        self._write_good_digests(history)

        failure = self._apply(release, new, self.options.expected_version)
        if failure is None:
            self._record_good(history, new)
            release.outcome = Outcome.DEPLOYED
            release.headline = f"{new} runs and passed smoke"
            return self._finish(release)

        # A digest that failed here is not good, even if it passed before.
        history = [item for item in history if item != new]
        self._write_good_digests(history)
        if last_good is None:
            release.outcome = Outcome.NEEDS_OPERATOR
            release.headline = (
                f"{new} failed ({failure}) and there is no earlier good digest to revert to; "
                f"fix forward, or run `python -m infra.deploy rollback --stack {self.ops.name} --to DIGEST`"
            )
            return self._finish(release)

        self._step(release, f"reverting the stack to the last good digest {last_good}")
        revert_failure = self._apply(release, last_good, None)
        if revert_failure is None:
            release.outcome = Outcome.REVERTED
            release.headline = f"{new} failed ({failure}); reverted to {last_good}, which passed smoke"
        else:
            release.outcome = Outcome.NEEDS_OPERATOR
            release.headline = (
                f"{new} failed ({failure}) and the revert to {last_good} failed too ({revert_failure}); "
                f"inspect the environment, then run "
                f"`python -m infra.deploy rollback --stack {self.ops.name} --to DIGEST`"
            )
        return self._finish(release)

    def rollback(self, to: str | None = None) -> Release:
        release = Release(stack=self.ops.name, action="rollback")
        self._started = time.monotonic()
        history = self._good_digests()
        current = self._configured_digest()
        self._step(release, f"running now: {self._running_description(current)}")
        if to is not None:
            target = validate_digest(to, "--to")
        else:
            earlier = [digest for digest in reversed(history) if digest != current]
            if not earlier:
                raise ReleaseConfigError(
                    f"no earlier good digest in {GOOD_DIGESTS_KEY} of stacks/Pulumi.{self.ops.name}.yaml: "
                    "name one with --to sha256:..."
                )
            target = earlier[0]
        self._step(release, f"rolling back to {target}")
        kept = [digest for digest in history if digest not in (current, target)]
        self._write_good_digests(kept)
        failure = self._apply(release, target, None)
        if failure is None:
            self._record_good(kept, target)
            release.outcome = Outcome.ROLLED_BACK
            release.headline = f"{target} runs and passed smoke" + (
                f"; {current} is no longer counted as good" if current and current != target else ""
            )
            return self._finish(release)

        if current is None or current == target:
            release.outcome = Outcome.NEEDS_OPERATOR
            release.headline = f"{target} failed ({failure}) and there is no other digest to restore"
            return self._finish(release)
        self._step(release, f"restoring the digest that ran before the rollback, {current}")
        restore_failure = self._apply(release, current, None)
        if restore_failure is None:
            self._write_good_digests(history)
            release.outcome = Outcome.ROLLBACK_FAILED
            release.headline = f"{target} failed ({failure}); {current} runs again and passed smoke"
        else:
            release.outcome = Outcome.NEEDS_OPERATOR
            release.headline = (
                f"{target} failed ({failure}) and restoring {current} failed too ({restore_failure})"
            )
        return self._finish(release)

    # --- the steps ---------------------------------------------------------------------------------

    def _apply(self, release: Release, digest: str, expected_version: str | None) -> str | None:
        """Set `digest`, up, wait for health, smoke. Returns None on success, else what failed."""
        self.ops.set_config(IMAGE_DIGEST_KEY, digest)
        self._step(release, f"set {IMAGE_DIGEST_KEY} = {digest}")
        scope = ", ".join(self.targets) if self.targets else "the whole stack"
        self._step(release, f"pulumi up (targets: {scope})")
        try:
            self.ops.up(self.targets)
        except StackUpError as exc:
            self._step(release, f"pulumi up FAILED: {exc}")
            return "pulumi up failed"
        base_url = self._base_url()
        if base_url is None:
            self._step(release, f"stack output {URL_OUTPUT} is missing and no --base-url was given")
            return f"no URL to check (stack output {URL_OUTPUT})"
        unhealthy = self.wait_health(base_url, self.options.health_timeout)
        if unhealthy is not None:
            self._step(release, f"{base_url} not healthy: {unhealthy}")
            return "health check failed"
        self._step(release, f"{base_url}/health answers")
        report = self.smoke(
            SmokeTarget(
                base_url=base_url,
                expected_digest=digest,
                expected_version=expected_version,
                admin_login=self.options.admin_login,
                timeout=self.options.smoke_timeout,
            )
        )
        for line in report.summary().splitlines():
            self._step(release, line)
        if not report.passed:
            return "smoke failed: " + ", ".join(result.name for result in report.failures)
        return None

    def _step(self, release: Release, text: str) -> None:
        line = f"[{time.monotonic() - self._started:6.1f} s] {text}"
        release.steps.append(line)
        self.echo(line)

    def _finish(self, release: Release) -> Release:
        self.echo(f"{release.outcome.value.upper()}: {release.headline}")
        return release

    # --- what the stack holds ------------------------------------------------------------------------

    def _configured_digest(self) -> str | None:
        value = self.ops.get_config(IMAGE_DIGEST_KEY)
        return normalize_digest(value) if value else None

    def _running_description(self, configured: str | None) -> str:
        deployed = self.ops.outputs().get(DEPLOYED_DIGEST_OUTPUT)
        text = f"{IMAGE_DIGEST_KEY} = {configured or 'unset'}"
        if deployed:
            text += f", stack output {DEPLOYED_DIGEST_OUTPUT} = {deployed}"
        return text

    def _base_url(self) -> str | None:
        if self.options.base_url:
            return self.options.base_url.rstrip("/")
        url = self.ops.outputs().get(URL_OUTPUT)
        return str(url).rstrip("/") if url else None

    def _good_digests(self) -> list[str]:
        raw = self.ops.get_config(GOOD_DIGESTS_KEY)
        if not raw:
            return []
        where = f"{GOOD_DIGESTS_KEY} in stacks/Pulumi.{self.ops.name}.yaml"
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise ReleaseConfigError(f"{where} is not JSON: expected a list of sha256 digests") from None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ReleaseConfigError(f"{where} must be a JSON list of sha256 digests")
        return [validate_digest(item, where) for item in value]

    def _record_good(self, history: list[str], digest: str) -> None:
        self._write_good_digests([item for item in history if item != digest] + [digest])

    def _write_good_digests(self, history: list[str]) -> None:
        self.ops.set_config(GOOD_DIGESTS_KEY, json.dumps(history[-GOOD_DIGESTS_KEPT:]))
