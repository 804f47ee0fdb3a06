"""The project's images built on the local engine from the Debian base image, as CI builds them.

The app's wheels are made on the host (containers reach no package index here) into
build/wheelhouse, once per set of pinned dependencies; `docker build` installs only from them.
"""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.deploy.image import (
    APP_DOCKERFILE,
    APP_LOCK_FILE,
    LOCK_FILE,
    REPO_ROOT,
    WHEELHOUSE,
    build_image,
    build_wheelhouse,
)
from tests.support.docker import docker

SIDECAR_DIR = REPO_ROOT / "sidecar"
APP_REPOSITORY = "cf-app"
SIDECAR_REPOSITORY = "cf-localapi-proxy"
LOCK_PATH = Path(tempfile.gettempdir()) / "cf-wheelhouse.lock"
STAMP = ".pinned-by"


@contextmanager
def _lock() -> Iterator[None]:
    with LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pins() -> str:
    text = b"".join((REPO_ROOT / name).read_bytes() for name in (APP_LOCK_FILE, LOCK_FILE, "pyproject.toml"))
    return hashlib.sha256(text).hexdigest()


def ensure_wheelhouse() -> Path:
    """build/wheelhouse with the wheels of the current pins; rebuilt only when the pins change."""
    with _lock():
        stamp = WHEELHOUSE / STAMP
        if stamp.exists() and stamp.read_text() == _pins():
            return WHEELHOUSE
        for old in WHEELHOUSE.glob("*.whl"):
            old.unlink()
        build_wheelhouse(WHEELHOUSE)
        stamp.write_text(_pins())
    return WHEELHOUSE


def _short(base_image: str) -> str:
    return hashlib.sha256(base_image.encode()).hexdigest()[:10]


def build_app_image(base_image: str, version: str = "test", tag: str | None = None) -> str:
    """The app image on `base_image`, offline from the wheelhouse; returns its tag."""
    ensure_wheelhouse()
    tag = tag or f"{APP_REPOSITORY}:{_short(base_image)}-{version}"
    build_image(
        tag,
        REPO_ROOT,
        dockerfile=APP_DOCKERFILE,
        build_args={
            "BASE_IMAGE": base_image,
            "PIP_NO_INDEX": "1",
            "CF_VERSION": version,
            "CF_GIT_COMMIT": version,
        },
    )
    return tag


def build_sidecar_image(base_image: str) -> str:
    """The LocalAPI proxy image from sidecar/ on `base_image`; returns its tag."""
    tag = f"{SIDECAR_REPOSITORY}:{_short(base_image)}"
    build_image(tag, SIDECAR_DIR, build_args={"BASE_IMAGE": base_image})
    return tag


def image_size(image: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


def image_size_added(image: str, base: str) -> int:
    """Bytes `image` adds on top of `base`, as the engine counts image sizes."""
    return image_size(image) - image_size(base)
