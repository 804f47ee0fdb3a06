"""Bytes each project image adds on top of its base image.

The images are built the way the container tests build them (the delivery helpers in tests/support), on
the base image made from Debian packages. "Added" is the image's size minus the base image's size, as the
Docker engine reports them (`docker image inspect --format {{.Size}}`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from tests.bench.report import Section, missing, unavailable
from tests.support import docker as docker_support

# Where the delivery helpers live and what they are called: module, function(base_image) -> image tag.
IMAGE_BUILDERS: dict[str, tuple[str, str]] = {
    "app": ("tests.support.images", "build_app_image"),
    "sidecar": ("tests.support.images", "build_sidecar_image"),
}


def image_size(tag: str) -> int:
    out = docker_support.docker("image", "inspect", "--format", "{{.Size}}", tag)
    return int(str(out.stdout).strip())


def _builder(module: str, function: str) -> Callable[[str], Any] | None:
    try:
        found = getattr(importlib.import_module(module), function, None)
    except ModuleNotFoundError:
        return None
    return found if callable(found) else None


def measure() -> Section:
    if not docker_support.engine_available():
        return unavailable(
            "docker unavailable: no Docker engine answers (scripts/setup.sh services starts it)"
        )
    base = docker_support.build_base_image()
    base_size = image_size(base)
    images: list[dict[str, Any]] = []
    absent: list[str] = []
    for name, (module, function) in IMAGE_BUILDERS.items():
        build = _builder(module, function)
        if build is None:
            absent.append(f"{name}: {module}.{function} is not in the repository")
            continue
        built = build(base)
        tag = built if isinstance(built, str) else str(getattr(built, "tag", built))
        size = image_size(tag)
        images.append(
            {
                "image": name,
                "tag": tag,
                "size_mb": round(size / 1e6, 1),
                "added_mb": round((size - base_size) / 1e6, 1),
                "added_bytes": size - base_size,
            }
        )
    if not images:
        return missing("; ".join(absent))
    section: Section = {"base_image": base, "base_size_mb": round(base_size / 1e6, 1), "images": images}
    if absent:
        section["not_measured"] = absent
    return section
