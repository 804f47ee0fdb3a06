"""Where the smoke suite runs: `SMOKE_BASE_URL` when given, else an app these tests start themselves."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.deploy.smoke import SmokeTarget, smoke_client
from tests.smoke.local_app import OFFLINE_ENV, fake_digest
from tests.support.services import free_port, http_answers, python_argv, service


@pytest.fixture(scope="session")
def smoke_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmokeTarget]:
    if os.environ.get("SMOKE_BASE_URL"):
        yield SmokeTarget.from_env(os.environ)
        return
    workdir: Path = tmp_path_factory.mktemp("smoke-app")
    port = free_port()
    version = f"smoke-{uuid.uuid4().hex[:8]}"
    digest = fake_digest(version)
    env = {
        **OFFLINE_ENV,
        "CF_DATA_DIR": str(workdir / "data"),
        "CF_VERSION": version,
        "CF_IMAGE_DIGEST": digest,
        "CF_ENVIRONMENT": "local",
        "CF_ANALYTICS_ALLOW_LOCAL": "true",
    }
    with service(
        "smoke-app",
        python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
        port=port,
        log_dir=workdir,
        env=env,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as app:
        yield SmokeTarget(base_url=app.url, expected_version=version, expected_digest=digest)


@pytest.fixture(scope="session")
def smoke_http(smoke_target: SmokeTarget) -> Iterator[httpx.Client]:
    with smoke_client(smoke_target) as client:
        yield client
