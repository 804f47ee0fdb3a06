"""The app and sidecar images: lint-clean, non-root, read-only friendly, healthy, and small."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.docker import docker
from tests.support.images import image_size_added
from tests.support.services import http_answers, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

HADOLINT = Path(sys.executable).parent / "hadolint"
# What the app may add on top of its base: the virtualenv with the pinned dependencies.
APP_SIZE_BUDGET_BYTES = 150 * 1024 * 1024


@pytest.mark.parametrize("dockerfile", ["app/Dockerfile", "sidecar/Dockerfile"])
def test_dockerfiles_pass_hadolint(dockerfile: str, repo_root: Path) -> None:
    result = subprocess.run([str(HADOLINT), dockerfile], cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_app_runs_as_a_non_root_user(app_image: str) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", app_image).stdout)
    assert config["User"] not in ("", "0", "root", "0:0")
    uid = docker("run", "--rm", "--network", "none", app_image, "id", "-u").stdout.strip()
    assert uid != "0"


def test_the_app_serves_from_a_read_only_root_and_writes_only_to_its_data_volume(app_image: str) -> None:
    name = f"cf-readonly-{uuid.uuid4().hex[:8]}"
    network = f"cf-readonly-{uuid.uuid4().hex[:8]}"
    docker("network", "create", network)
    try:
        docker(
            "run", "-d", "--name", name, "--network", network, "--read-only", "--tmpfs", "/tmp",
            "-e", "CF_REE_BASE_URL=http://127.0.0.1:9", "-e", "CF_OPEN_METEO_BASE_URL=http://127.0.0.1:9",
            "-e", "CF_SCHEDULER_ENABLED=false", "-p", "127.0.0.1::8000", app_image,
        )  # fmt: skip
        port = docker("port", name, "8000/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        wait_until(lambda: http_answers(f"http://127.0.0.1:{port}/health", 200), 60, "the app container")
        changed = docker("diff", name).stdout.split()
        database = docker("exec", name, "ls", "/data").stdout.split()
        health = ""
        for _ in range(3):
            health = docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip()
            if health != "starting":
                break
    finally:
        docker("rm", "-f", "-v", name, check=False)
        docker("network", "rm", network, check=False)
    assert "app.db" in database, "SQLite lives in the /data volume"
    assert [path for path in changed if path.startswith("/") and path not in ("/tmp",)] == []
    assert health in ("starting", "healthy"), f"the image's HEALTHCHECK reports {health}"


def test_the_healthcheck_turns_healthy(app_image: str) -> None:
    name = f"cf-health-{uuid.uuid4().hex[:8]}"
    docker(
        "run", "-d", "--name", name, "--network", "none", "--read-only", "--tmpfs", "/tmp",
        "-e", "CF_SCHEDULER_ENABLED=false", "--health-interval", "1s", "--health-start-period", "1s",
        app_image,
    )  # fmt: skip
    try:
        wait_until(
            lambda: docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip() == "healthy",
            60,
            "the HEALTHCHECK",
            interval=0.5,
        )
    finally:
        docker("rm", "-f", "-v", name, check=False)


def test_the_app_adds_little_to_its_base(app_image: str, base_image: str, artifacts_dir: Path) -> None:
    added = image_size_added(app_image, base_image)
    (artifacts_dir / "image-sizes.json").write_text(json.dumps({"app_added_bytes": added}, indent=2))
    print(f"app image adds {added / 1e6:.1f} MB to {base_image}")
    assert 0 < added < APP_SIZE_BUDGET_BYTES


def test_the_sidecar_image_runs_socat_as_its_unprivileged_uid(sidecar_image: str) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", sidecar_image).stdout)
    assert config["User"].split(":")[0] not in ("", "0", "root")
