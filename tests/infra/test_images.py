"""Images: prod runs everything by digest; every stack pins upstream images in one place."""

from __future__ import annotations

import re

from infra.images import PINNED
from tests.infra.harness import StackRun
from tests.infra.helpers import IMAGE

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def test_prod_runs_every_container_from_an_image_digest_and_builds_nothing(runs: dict[str, StackRun]) -> None:
    prod = runs["prod"]
    assert prod.of_type(IMAGE) == []
    for c in prod.containers:
        assert DIGEST.search(c.inputs["image"]), f"{c.name} runs {c.inputs['image']}"
    assert prod.container("app-prod").inputs["image"] == (
        "registry.tailfa57c0.ts.net/chocolate-factory/app"
        "@sha256:3f1d2b6c9a0e4f7b8c5d2e1a0f9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b"
    )


def test_upstream_images_come_only_from_the_pinned_list(run: StackRun) -> None:
    own = [c.inputs["image"] for c in run.containers if "/chocolate-factory/" in c.inputs["image"]]
    upstream = [c.inputs["image"] for c in run.containers if "/chocolate-factory/" not in c.inputs["image"]]
    assert own
    assert set(upstream) <= set(PINNED.values())
    for reference in PINNED.values():
        repository, _, tag = reference.split("@")[0].rpartition(":")
        assert repository and tag and tag != "latest"
        assert DIGEST.search(reference), reference


def test_dev_builds_and_pushes_its_images_and_runs_them_by_the_pushed_digest(
    runs: dict[str, StackRun],
) -> None:
    dev = runs["dev"]
    built = {i.name: i for i in dev.of_type(IMAGE)}
    assert set(built) == {"app-dev-image", "proxy-dev-image"}
    app_image = built["app-dev-image"]
    assert app_image.inputs["imageName"] == "registry.tailfa57c0.ts.net/chocolate-factory/app:dev"
    assert app_image.inputs["build"]["dockerfile"].endswith("app/Dockerfile")
    assert app_image.inputs["build"]["args"]["BASE_IMAGE"] == PINNED["python-base"]
    assert app_image.inputs["registry"]["server"] == "registry.tailfa57c0.ts.net"
    assert "registry" in app_image.secret_properties
    assert app_image.provider is not None
    assert dev.container("app-dev").inputs["image"] == app_image.outputs["repoDigest"]


def test_a_pinned_digest_replaces_the_build_which_is_how_a_rollback_reverts() -> None:
    from infra.config import load_stack
    from tests.infra.harness import run_stack

    digest = "sha256:" + "ab" * 32
    app = load_stack("dev").app.model_dump(by_alias=True, exclude_none=True)
    run = run_stack("dev", {"app": {**app, "imageDigest": digest}})
    assert (
        run.container("app-dev").inputs["image"]
        == f"registry.tailfa57c0.ts.net/chocolate-factory/app@{digest}"
    )
    assert [i.name for i in run.of_type(IMAGE)] == ["proxy-dev-image"]
    assert run.outputs["imageDigests"] == {"dev": digest}
