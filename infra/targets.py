"""What a CI deploy may touch: the app environments of a stack, and nothing the operator owns.

    pulumi up -s dev --yes $(python -m infra.targets dev)

expands to `--target <AppEnvironment URN> --target '<its descendants>' --target-dependents`. The
runners, Forgejo, the registry and the tailnet are outside every target, and nothing of theirs
depends on an app environment, so `--target-dependents` cannot pull them in either.

Pulumi matches a target containing `*` against the resources already in the stack's state (`**`
spans `::`, `*` does not): a resource type new to an app environment is created by an operator's
`pulumi up` first, after which CI deploys keep it up to date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from infra.config import PROJECT, STACKS_DIR, load_stack
from infra.tokens import APP_ENVIRONMENT


def urn(stack: str, type_chain: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_chain}::{name}"


def ci_deploy_targets(stack: str, stacks_dir: Path = STACKS_DIR) -> list[str]:
    """URNs (and URN globs) a CI deploy of `stack` passes to `pulumi up --target`."""
    cfg = load_stack(stack, stacks_dir)
    targets = [urn(stack, APP_ENVIRONMENT, env.name) for env in cfg.environments]
    if targets:
        targets.append(urn(stack, f"{APP_ENVIRONMENT}$**", "*"))
    return targets


def ci_deploy_arguments(stack: str, stacks_dir: Path = STACKS_DIR) -> list[str]:
    """`pulumi up` arguments of a CI deploy of `stack`."""
    args: list[str] = []
    for target in ci_deploy_targets(stack, stacks_dir):
        args += ["--target", target]
    return [*args, "--target-dependents"]


def urn_matches(pattern: str, candidate: str) -> bool:
    """Whether `pattern` (a `--target` value, possibly with `*`/`**`) selects `candidate`, as Pulumi does."""
    if "*" not in pattern:
        return pattern == candidate
    segments = ["[^:]*".join(re.escape(part) for part in seg.split("*")) for seg in pattern.split("**")]
    return re.fullmatch(".*".join(segments), candidate) is not None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m infra.targets STACK", file=sys.stderr)
        return 2
    print(" ".join(f"'{a}'" if "$" in a or "*" in a else a for a in ci_deploy_arguments(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
