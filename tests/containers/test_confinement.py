"""The app container as the Pulumi program declares it, run on the real Docker engine: read-only root
file system, every capability dropped, and its files (the Claude key) written by a holder container
that is created and never started, as the docker provider would write them.

The provider copies a container's `uploads` as one tar archive to `/` right after creating it
(terraform-provider-docker, resource_docker_container_funcs.go: `CopyToContainer(ctx, id, "/", ...)`);
`docker cp - <container>:/` sends the same request.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.harness import CapturedResource, StackRun, run_stack
from tests.infra.helpers import docker_run_flags, envs
from tests.support.docker import docker
from tests.support.services import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NO_CAPABILITIES = "0000000000000000"
"""CapEff/CapBnd in /proc/<pid>/status of a process without any capability."""


@pytest.fixture(scope="module")
def prod() -> StackRun:
    return run_stack("prod")


def _tar(uploads: list[dict[str, Any]]) -> bytes:
    """The archive the provider sends: each upload at its path, with its mode and owner."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for upload in uploads:
            content = str(upload["content"]).encode()
            info = tarfile.TarInfo(str(upload["file"]).lstrip("/"))
            info.size = len(content)
            info.mode = int(str(upload.get("permissions") or "0644"), 8)
            info.uid = int(upload.get("owner") or 0)
            info.gid = int(upload.get("group") or upload.get("owner") or 0)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _volume_args(container: CapturedResource, names: dict[str, str]) -> list[str]:
    args = []
    for volume in container.inputs.get("volumes") or []:
        mode = ":ro" if volume.get("readOnly") else ""
        args += ["--volume", f"{names[volume['volumeName']]}:{volume['containerPath']}{mode}"]
    return args


@pytest.fixture
def volumes(prod: StackRun) -> Iterator[dict[str, str]]:
    """A fresh Docker volume for each volume the app and its holder mount."""
    suffix = uuid.uuid4().hex[:8]
    declared = {
        volume["volumeName"]
        for name in ("app-prod", "app-prod-files")
        for volume in prod.container(name).inputs.get("volumes") or []
    }
    names = {volume: f"cf-confine-{suffix}-{volume}" for volume in declared}
    for name in names.values():
        docker("volume", "create", name)
    yield names
    docker("volume", "rm", "-f", *names.values(), check=False)


def test_docker_refuses_uploads_into_a_read_only_root(base_image: str) -> None:
    name = f"cf-confine-ro-{uuid.uuid4().hex[:8]}"
    docker("create", "--name", name, "--read-only", base_image, "true")
    try:
        copy = docker("cp", "-", f"{name}:/", check=False, input=_tar([{"file": "/run/x", "content": "x"}]))
    finally:
        docker("rm", "-f", name, check=False)
    stderr = copy.stderr.decode() if isinstance(copy.stderr, bytes) else copy.stderr
    assert copy.returncode != 0 and "read-only" in stderr, "why a read-only container needs a holder"


def test_the_declared_app_runs_read_only_without_capabilities_and_reads_its_key(
    prod: StackRun, app_image: str, volumes: dict[str, str]
) -> None:
    holder, app = prod.container("app-prod-files"), prod.container("app-prod")
    assert holder.inputs["start"] is False
    suffix = uuid.uuid4().hex[:8]
    holder_name, app_name = f"cf-confine-files-{suffix}", f"cf-confine-app-{suffix}"
    environment = {
        **envs(app),
        "CF_IMAGE_DIGEST": "sha256:test",
        "CF_SCHEDULER_ENABLED": "false",
        "CF_REE_BASE_URL": "http://127.0.0.1:9",
        "CF_OPEN_METEO_BASE_URL": "http://127.0.0.1:9",
    }
    try:
        docker("create", "--name", holder_name, *_volume_args(holder, volumes), app_image)
        docker("cp", "-", f"{holder_name}:/", input=_tar(holder.inputs["uploads"]))
        docker(
            "run", "--detach", "--name", app_name, "--network", "none",
            *docker_run_flags(app), *_volume_args(app, volumes),
            *[arg for key, value in sorted(environment.items()) for arg in ("--env", f"{key}={value}")],
            app_image,
        )  # fmt: skip

        def healthy() -> bool:
            probe = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"
            return docker("exec", app_name, "python", "-c", probe, check=False).returncode == 0

        wait_until(healthy, 60, "the app from its read-only root")
        key = docker("exec", app_name, "cat", envs(app)["CF_ANTHROPIC_API_KEY_FILE"]).stdout
        status = docker("exec", app_name, "cat", "/proc/1/status").stdout
        write = docker("exec", app_name, "touch", "/srv/app/x", check=False)
        host_config = json.loads(docker("inspect", "--format", "{{json .HostConfig}}", app_name).stdout)
    finally:
        docker("rm", "-f", app_name, holder_name, check=False)
    assert key == "placeholder-anthropicApiKey", "the key the holder wrote, readable by the app's uid"
    capabilities = dict(line.split(":\t", 1) for line in status.splitlines() if line.startswith("Cap"))
    assert (
        capabilities["CapEff"].strip() == NO_CAPABILITIES
        and capabilities["CapBnd"].strip() == NO_CAPABILITIES
    )
    assert write.returncode != 0 and "Read-only file system" in write.stderr
    assert host_config["ReadonlyRootfs"] is True and host_config["CapDrop"] == ["ALL"]
