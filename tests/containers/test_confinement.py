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

from tests.analytics.support import NGINX_PLACEHOLDERS
from tests.infra.harness import CapturedResource, StackRun, run_stack
from tests.infra.helpers import docker_run_flags, envs
from tests.support.docker import BASE_PACKAGES, build_base_image, docker
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


# Debian's nginx stands in for the upstream nginx image (which cannot be pulled here): the same master
# and workers, run as root the way the program runs nginx, with the program's confinement.
NGINX_PACKAGES = (*BASE_PACKAGES, "nginx-light", "gettext-base")
CHOWN_SETGID_SETUID = f"{(1 << 0) | (1 << 6) | (1 << 7):016x}"
"""CapEff of a process holding exactly CAP_CHOWN (0), CAP_SETGID (6) and CAP_SETUID (7)."""


STATUSES = "for status in /proc/[0-9]*/status; do cat $status; echo; done"
"""Every process's /proc status, one block each."""


@pytest.fixture(scope="module")
def nginx_image(docker_engine: None) -> str:
    return build_base_image(NGINX_PACKAGES)


def _run_nginx(prod: StackRun, image: str, volumes: dict[str, str], flags: list[str]) -> str:
    """The declared web container's files (through its holder) and settings, nginx started as its
    image's entrypoint would: the template rendered into the run directory, then `nginx -c`."""
    holder, web = prod.container("web-prod-files"), prod.container("web-prod")
    suffix = uuid.uuid4().hex[:8]
    holder_name, web_name = f"cf-confine-webfiles-{suffix}", f"cf-confine-web-{suffix}"
    environment = {**envs(web), "CF_APP_UPSTREAM": "127.0.0.1:9"}  # no app here: nginx answers 502
    template = "/etc/nginx/templates/nginx.conf.template"
    variables = " ".join(f"${{{name}}}" for name in NGINX_PLACEHOLDERS)
    render = f"envsubst '{variables}' < {template} > {environment['NGINX_ENVSUBST_OUTPUT_DIR']}/nginx.conf"
    docker("create", "--name", holder_name, *_volume_args(holder, volumes), image)
    docker("cp", "-", f"{holder_name}:/", input=_tar(holder.inputs["uploads"]))
    docker(
        "run", "--detach", "--name", web_name, "--network", "none", *flags, *_volume_args(web, volumes),
        *[arg for key, value in sorted(environment.items()) for arg in ("--env", f"{key}={value}")],
        image, "sh", "-c", f"{render} && exec {' '.join(web.inputs['command'][:-2])} -g 'daemon off;'",
    )  # fmt: skip
    docker("rm", "-f", holder_name, check=False)
    return web_name


@pytest.fixture
def web_volumes(prod: StackRun) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    declared = {
        volume["volumeName"]
        for name in ("web-prod", "web-prod-files")
        for volume in prod.container(name).inputs.get("volumes") or []
    }
    names = {volume: f"cf-confine-{suffix}-{volume}" for volume in declared}
    for name in names.values():
        docker("volume", "create", name)
    yield names
    docker("volume", "rm", "-f", *names.values(), check=False)


def test_nginx_serves_from_a_read_only_root_with_only_chown_setgid_setuid(
    prod: StackRun, nginx_image: str, web_volumes: dict[str, str]
) -> None:
    web = prod.container("web-prod")
    listen = envs(web)["CF_NGINX_LISTEN"]
    name = _run_nginx(prod, nginx_image, web_volumes, docker_run_flags(web))
    try:

        def answers() -> bool:
            probe = [
                "curl",
                "--silent",
                "--output",
                "/dev/null",
                "--write-out",
                "%{http_code}",
                f"http://{listen}/",
            ]
            return docker("exec", name, *probe, check=False).stdout == "502"

        wait_until(answers, 30, "nginx from its read-only root")
        processes = docker("exec", name, "sh", "-c", STATUSES).stdout.split("\n\n")
        access_log = docker("exec", name, "cat", envs(web)["CF_ACCESS_LOG"]).stdout
    finally:
        logs = docker("logs", name, check=False)
        docker("rm", "-f", name, check=False)
    fields = [
        dict(line.split(":\t", 1) for line in block.splitlines() if ":\t" in line) for block in processes
    ]
    nginx = [f for f in fields if f.get("Name", "").strip() == "nginx"]
    master = [f for f in nginx if f["Uid"].split()[0] == "0"]
    workers = [f for f in nginx if f["Uid"].split()[0] != "0"]
    assert master and workers, logs.stdout + logs.stderr
    assert master[0]["CapEff"].strip() == CHOWN_SETGID_SETUID, "the master holds the three granted only"
    assert all(w["CapEff"].strip() == NO_CAPABILITIES for w in workers), "workers run unprivileged"
    assert '"status":502' in access_log, "the access log on its volume"


def test_nginx_as_root_does_not_start_without_its_granted_capabilities(
    prod: StackRun, nginx_image: str, web_volumes: dict[str, str]
) -> None:
    web = prod.container("web-prod")
    without = [flag for flag in docker_run_flags(web) if not flag.startswith("--cap-add")]
    name = _run_nginx(prod, nginx_image, web_volumes, without)
    try:
        wait_until(
            lambda: docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "false", 30, "nginx"
        )
        logs = docker("logs", name, check=False)
    finally:
        docker("rm", "-f", name, check=False)
    assert "Operation not permitted" in logs.stdout + logs.stderr, "the exception is needed, not habit"
