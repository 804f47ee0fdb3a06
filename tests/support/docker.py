"""The Docker engine and a base image built from Debian packages (no image can be pulled here)."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# What every project image needs from its base: Python for the app, socat for the LocalAPI proxy.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "socat", "curl")
BASE_REPOSITORY = "cf-base"
LOCK_PATH = Path(tempfile.gettempdir()) / "cf-base-image.lock"


def docker(*args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args],
        check=check,
        capture_output=True,
        text=input is None,
        input=input,
    )


def engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def base_image_tag(packages: Sequence[str] = BASE_PACKAGES) -> str:
    digest = hashlib.sha256(" ".join([DEBIAN_SUITE, *sorted(packages)]).encode()).hexdigest()[:12]
    return f"{BASE_REPOSITORY}:{DEBIAN_SUITE}-{digest}"


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


@contextmanager
def _machine_lock() -> Iterator[None]:
    with LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_base_image(packages: Sequence[str] = BASE_PACKAGES) -> str:
    """`debootstrap --variant=minbase` of bookworm with `packages`, imported with `docker import`.

    The tag is derived from the package list, so the image is built once per machine and reused.
    """
    tag = base_image_tag(packages)
    with _machine_lock():
        if image_exists(tag):
            return tag
        with tempfile.TemporaryDirectory(prefix="cf-base-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(packages)}",
                    DEBIAN_SUITE,
                    str(rootfs),
                    DEBIAN_MIRROR,
                ],
                check=True,
                capture_output=True,
            )
            # Keep the image small: package lists and caches are not needed at run time.
            for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
                shutil.rmtree(rootfs / leftover, ignore_errors=True)
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(
                ["docker", "import", "--change", 'CMD ["/bin/bash"]', "-", tag],
                stdin=tar.stdout,
                check=True,
                capture_output=True,
            )
            if tar.wait() != 0:
                raise RuntimeError("tar of the debootstrap root failed")
    return tag
