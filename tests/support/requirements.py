"""Which local service each test marker needs, and how to tell whether this machine has it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from tests.support.docker import engine_available
from tests.support.postgres import server_bin_dir


def _has_commands(*names: str) -> Callable[[], bool]:
    def check() -> bool:
        return all(shutil.which(name) or Path("/usr/sbin", name).exists() for name in names)

    return check


SERVICE_CHECKS: dict[str, tuple[Callable[[], bool], str]] = {
    "docker": (engine_available, "a running Docker engine (scripts/setup.sh services starts dockerd)"),
    "registry": (_has_commands("docker-registry", "htpasswd"), "Debian's docker-registry and apache2-utils"),
    "socat": (_has_commands("socat"), "Debian's socat"),
    "nginx": (_has_commands("nginx"), "Debian's nginx-light"),
    "promtool": (_has_commands("promtool"), "promtool from Debian's prometheus"),
    "browser": (lambda: Path("/usr/bin/chromium").exists(), "Debian's chromium at /usr/bin/chromium"),
    "postgresql": (lambda: server_bin_dir() is not None, "Debian's postgresql (/usr/lib/postgresql/*/bin)"),
}


def missing_services(markers: set[str]) -> list[str]:
    """Descriptions of the services that `markers` need and this machine lacks."""
    return [
        description
        for marker, (check, description) in SERVICE_CHECKS.items()
        if marker in markers and not check()
    ]
