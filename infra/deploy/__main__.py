"""`python -m infra.deploy`: build, deploy, check and roll back the app of one environment.

    python -m infra.deploy image --stack dev|prod --version COMMIT [--push]   (or --tag REPO:TAG)
    python -m infra.deploy wheelhouse                         (the wheels app/Dockerfile installs)
    python -m infra.deploy deploy --stack dev|prod --digest sha256:... [--version COMMIT]
    python -m infra.deploy rollback --stack prod [--to sha256:...]
    python -m infra.deploy preview --stack dev|prod            (with the policy pack infra/policy)
    python -m infra.deploy smoke --base-url URL [--expect-digest D] [--expect-version V]

deploy and rollback touch only the environment's app resources (`pulumi up --target ...
--target-dependents`); the tailnet, Forgejo, the registry and the runners change only by hand.
Exit codes of deploy and rollback: 0 done, 1 failed and reverted to a good digest, 2 needs an operator.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.config import ConfigError, load_stack
from infra.deploy.image import (
    APP_DOCKERFILE,
    REPO_ROOT,
    WHEELHOUSE,
    ImageError,
    build_image,
    build_wheelhouse,
    by_digest,
    push_image,
)
from infra.deploy.release import Release, ReleaseConfigError, ReleaseOptions, Releaser
from infra.deploy.smoke import SmokeTarget, run_smoke
from infra.deploy.stack import StackUpError
from infra.deploy.targets import TargetsError, ci_targets
from infra.images import PINNED

DEPLOYABLE_STACKS = ("dev", "prod", "local")


def _echo(line: str) -> None:
    print(line, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    image = commands.add_parser("image", help="build the app image (and push it), print its digest")
    image.add_argument("--tag", help="REGISTRY/REPOSITORY:TAG (default: the stack's app.imageRepository)")
    image.add_argument(
        "--stack",
        choices=DEPLOYABLE_STACKS,
        help="build on this stack's node (its Docker engine) and push to its app.imageRepository",
    )
    image.add_argument(
        "--base-image", help="BASE_IMAGE build argument (default: python-base pinned in infra/images.py)"
    )
    image.add_argument("--version", default="dev", help="CF_VERSION and CF_GIT_COMMIT baked into the image")
    image.add_argument("--push", action="store_true", help="push and print REPOSITORY@sha256:...")
    image.add_argument("--offline", action="store_true", help="install only from the wheelhouse")

    commands.add_parser(
        "wheelhouse", help="only make build/wheelhouse (before a `pulumi up` that builds app/)"
    )

    def stack_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--stack", required=True, choices=DEPLOYABLE_STACKS)
        command.add_argument("--base-url", help="where the app answers (default: the stack output appUrl)")
        command.add_argument(
            "--health-timeout", type=float, default=120.0, help="seconds to wait for /health"
        )
        return command

    deploy = stack_command("deploy", help_text="release an image digest, smoke it, revert when it fails")
    deploy.add_argument("--digest", required=True, help="sha256:... of the pushed app image")
    deploy.add_argument("--version", help="the commit the image was built from; checked at /version")

    rollback = stack_command("rollback", help_text="go back to the last good digest, or to --to")
    rollback.add_argument("--to", help="sha256:... to go back to (default: the newest earlier good one)")

    preview = commands.add_parser("preview", help="pulumi preview of a stack with the policy pack")
    preview.add_argument("--stack", required=True, choices=DEPLOYABLE_STACKS)
    preview.add_argument("--policy-pack", type=Path, default=REPO_ROOT / "infra" / "policy")

    smoke = commands.add_parser("smoke", help="run the smoke suite against a URL")
    smoke.add_argument("--base-url", required=True)
    smoke.add_argument("--expect-digest")
    smoke.add_argument("--expect-version")
    return parser


def _image(args: argparse.Namespace) -> int:
    tag = args.tag
    if args.stack:
        cfg = load_stack(args.stack)
        tag = tag or f"{cfg.app.image_repository}:{args.version}"
        node = cfg.nodes[cfg.environments[0].node] if cfg.environments else None
        if node is not None and "DOCKER_HOST" not in os.environ:
            os.environ["DOCKER_HOST"] = node.docker_url
            _echo(f"building on {node.docker_url}")
    if not tag:
        raise ImageError("give --tag REGISTRY/REPOSITORY:TAG, or --stack to use its app.imageRepository")
    build_wheelhouse(WHEELHOUSE)
    build_args = {
        "CF_VERSION": args.version,
        "CF_GIT_COMMIT": args.version,
        "PIP_NO_INDEX": "1" if args.offline else "0",
    }
    build_args["BASE_IMAGE"] = args.base_image or PINNED["python-base"]
    image_id = build_image(tag, REPO_ROOT, dockerfile=APP_DOCKERFILE, build_args=build_args)
    _echo(f"built {tag} ({image_id})")
    if args.push:
        digest = push_image(tag)
        _echo(f"pushed {by_digest(tag, digest)}")
        _write_step_output("digest", digest)
    return 0


def _write_step_output(name: str, value: str) -> None:
    """Hand a value to later workflow steps (Forgejo Actions reads the same file GitHub's does)."""
    path = os.environ.get("FORGEJO_OUTPUT") or os.environ.get("GITHUB_OUTPUT")
    if path:
        with Path(path).open("a", encoding="utf-8") as output:
            output.write(f"{name}={value}\n")


def _releaser(args: argparse.Namespace, expected_version: str | None = None) -> Releaser:
    from infra.deploy.automation import AutomationStack

    options = ReleaseOptions(
        base_url=args.base_url,
        expected_version=expected_version,
        admin_login=os.environ.get("SMOKE_ADMIN_LOGIN") or None,
        health_timeout=args.health_timeout,
    )
    stack = AutomationStack(args.stack, REPO_ROOT, echo=_echo)
    return Releaser(stack, ci_targets(args.stack), options, echo=_echo)


def _preview(args: argparse.Namespace) -> int:
    from infra.deploy.automation import AutomationStack

    try:
        summary = AutomationStack(args.stack, REPO_ROOT, echo=_echo).preview([args.policy_pack])
    except StackUpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _echo(f"preview of {args.stack} with {args.policy_pack}: {summary or 'no changes'}")
    return 0


def _report(release: Release) -> int:
    print("\n" + release.account(), flush=True)
    return release.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "image":
            return _image(args)
        if args.command == "wheelhouse":
            _echo(f"wheels of the pinned dependencies in {build_wheelhouse(WHEELHOUSE)}")
            return 0
        if args.command in ("deploy", "rollback"):
            try:
                releaser = _releaser(args, getattr(args, "version", None))
            except (TargetsError, ConfigError):
                raise
            except Exception as exc:
                print(f"error: cannot open stack {args.stack}: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 3
            try:
                if args.command == "deploy":
                    return _report(releaser.deploy(args.digest))
                return _report(releaser.rollback(args.to))
            except (ReleaseConfigError, TargetsError):
                raise
            except Exception as exc:
                print(
                    f"error: {args.command} of {args.stack} stopped half way: {type(exc).__name__}: {exc}\n"
                    f"the stack may run an unchecked digest: see `pulumi stack history -s {args.stack}`, "
                    f"then `python -m infra.deploy rollback --stack {args.stack} --to DIGEST`",
                    file=sys.stderr,
                )
                return 2
        if args.command == "preview":
            return _preview(args)
        report = run_smoke(
            SmokeTarget(
                base_url=args.base_url,
                expected_digest=args.expect_digest,
                expected_version=args.expect_version,
                admin_login=os.environ.get("SMOKE_ADMIN_LOGIN") or None,
            )
        )
        print(report.summary(), flush=True)
        return 0 if report.passed else 1
    except (ReleaseConfigError, TargetsError, ImageError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
