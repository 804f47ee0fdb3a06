"""Identity does not depend on how the app is launched: a forged X-Forwarded-For never becomes a peer
the app trusts, under `python -m app`, `uvicorn --factory` (proxy headers on by default, trusting
127.0.0.1) or with proxy headers trusted from everywhere, nor under the image's own command.

127.0.0.5 stands for the web container, the one address the app trusts (CF_TRUSTED_PROXIES); the
forger connects from 127.0.0.1 and names 127.0.0.5 in X-Forwarded-For, as a process on the node
could. The genuine proxy, connecting from 127.0.0.5 itself, is believed under every launcher.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port, http_answers, python_argv, service

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_CONTAINER = "127.0.0.5"
ADMIN = "marta@chocolate.example"
ANALYTICS = "/analytics/access-logs?hours=24"


def dockerfile_command(path: Path = REPO_ROOT / "app" / "Dockerfile") -> list[str]:
    """The exec-form CMD of the image (its last CMD line), as Docker runs it."""
    commands = [line for line in path.read_text().splitlines() if line.startswith("CMD [")]
    argv = json.loads(commands[-1].removeprefix("CMD "))
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
    return argv


Launcher = Callable[[int], tuple[list[str], dict[str, str]]]

LAUNCHERS: dict[str, Launcher] = {
    "python -m app": lambda port: (
        python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
        {},
    ),
    "uvicorn --factory": lambda port: (
        python_argv(
            "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port)
        ),
        {},
    ),
    "uvicorn --factory, proxy headers trusted from anywhere": lambda port: (
        python_argv(
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--proxy-headers",
            "--forwarded-allow-ips",
            "*",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ),
        {"FORWARDED_ALLOW_IPS": "*"},
    ),
    # The image's command, same argv, on this host: `python` is the test's interpreter, and the
    # address comes from the settings as in the image (its ENV sets CF_HOST and CF_PORT).
    "Dockerfile CMD": lambda port: (
        dockerfile_command(),
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "CF_HOST": "127.0.0.1",
            "CF_PORT": str(port),
        },
    ),
}


def test_the_dockerfile_runs_the_app_as_python_m_app() -> None:
    assert dockerfile_command() == ["python", "-m", "app"]


@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_a_forged_forwarded_address_never_reads_the_analytics(launcher: str, tmp_path: Path) -> None:
    port = free_port()
    argv, launcher_env = LAUNCHERS[launcher](port)
    env = {
        "CF_DATA_DIR": str(tmp_path / "data"),
        "CF_SCHEDULER_ENABLED": "false",
        "CF_LOG_FORMAT": "text",
        "CF_TRUSTED_PROXIES": json.dumps([WEB_CONTAINER]),
        "CF_ANALYTICS_ADMINS": json.dumps([ADMIN]),
        "CF_ANALYTICS_ALLOW_LOCAL": "false",
        "CF_ANALYTICS_ACCESS_LOG_PATH": str(tmp_path / "access.log"),
        **launcher_env,
    }
    url = f"http://127.0.0.1:{port}"
    login = {"Tailscale-User-Login": ADMIN}
    with service(
        "app",
        argv,
        port=port,
        log_dir=tmp_path,
        env=env,
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"{url}/health", 200),
        timeout=60,
    ):
        forged = [
            httpx.get(f"{url}{ANALYTICS}", headers={**login, "X-Forwarded-For": WEB_CONTAINER}),
            httpx.get(f"{url}{ANALYTICS}", headers={**login, "Forwarded": f"for={WEB_CONTAINER}"}),
            httpx.get(f"{url}{ANALYTICS}", headers={**login, "X-Real-IP": WEB_CONTAINER}),
        ]
        with httpx.Client(transport=httpx.HTTPTransport(local_address=WEB_CONTAINER)) as web:
            genuine = web.get(f"{url}{ANALYTICS}", headers=login)
    assert [r.status_code for r in forged] == [403, 403, 403], [r.text for r in forged]
    assert genuine.status_code == 200, genuine.text
