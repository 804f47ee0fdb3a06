"""Build the app image, push it to the registry, and name it by the digest the registry gave it.

The wheelhouse holds the wheels of the app's dependencies, made on the build host from
`app/requirements.lock` with `--require-hashes` (see `build_wheelhouse`). The image's first stage
installs from the wheelhouse, again with `--require-hashes`, without reaching an index, so the same
Dockerfile builds on a runner and in an offline test, and every file is the one the lock names.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DIGEST_IN_PUSH_OUTPUT = re.compile(r"digest: (sha256:[0-9a-f]{64})")
# Where the app image's Dockerfile expects the wheelhouse in its build context (the repo root).
WHEELHOUSE = REPO_ROOT / "build" / "wheelhouse"
APP_DOCKERFILE = REPO_ROOT / "app" / "Dockerfile"
LOCK_FILE = "requirements.lock"
"""Every dependency's version and sha256 (`make lock` makes it from constraints.txt)."""
APP_LOCK_FILE = "app/requirements.lock"
"""The app image's dependencies (no dev or infra tools), versions and sha256 as in LOCK_FILE."""


class ImageError(Exception):
    """A docker build, push or inspect failed; the message carries docker's own words."""


def _run(argv: Sequence[str]) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageError(f"`{' '.join(argv)}` failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def build_wheelhouse(
    wheelhouse: Path = WHEELHOUSE, repo_root: Path = REPO_ROOT, python: str = sys.executable
) -> Path:
    """Wheels of the app's locked dependencies, of pip and of the build backend, in `wheelhouse`.

    pip checks every file against the sha256 its lock lists: the app's dependencies against
    `app/requirements.lock` (`--require-hashes`), pip and setuptools against `requirements.lock`.
    """
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pip_wheel = [python, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheelhouse)]
    _run([*pip_wheel, "--require-hashes", "--requirement", str(repo_root / APP_LOCK_FILE)])
    _run([*pip_wheel, "--constraint", str(repo_root / LOCK_FILE), "pip", "setuptools"])
    return wheelhouse


def build_image(
    tag: str,
    context: Path = REPO_ROOT,
    *,
    dockerfile: Path | None = None,
    build_args: Mapping[str, str] | None = None,
) -> str:
    """`docker build`; returns the local image id."""
    argv = ["docker", "build", "--quiet", "--tag", tag]
    if dockerfile is not None:
        argv += ["--file", str(dockerfile)]
    for key, value in (build_args or {}).items():
        argv += ["--build-arg", f"{key}={value}"]
    return _run([*argv, str(context)]).strip()


def push_image(tag: str) -> str:
    """`docker push`; returns the digest the registry stored the image under (`sha256:...`)."""
    match = DIGEST_IN_PUSH_OUTPUT.search(_run(["docker", "push", tag]))
    if match is None:
        raise ImageError(f"`docker push {tag}` printed no digest")
    return match.group(1)


def repository_of(tag: str) -> str:
    """`registry:5000/app:abc` -> `registry:5000/app` (a port is not a tag)."""
    name, _, last = tag.rpartition(":")
    return name if name and "/" not in last else tag


def by_digest(tag: str, digest: str) -> str:
    return f"{repository_of(tag)}@{digest}"
