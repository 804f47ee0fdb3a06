"""Services the analytics tests run for real: the stand-in tailscaled, socat from sidecar/, nginx."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import (
    RunningService,
    free_port,
    http_answers,
    port_answers,
    python_argv,
    service,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SIDECAR = REPO_ROOT / "sidecar"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "tailscale"
PROXY_UID = 10001
NGINX_PLACEHOLDERS = ("CF_NGINX_LISTEN", "CF_APP_UPSTREAM", "CF_ACCESS_LOG", "CF_NGINX_RUN_DIR")


def socket_answers(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            sock.connect(str(path))
            return True
    except OSError:
        return False


@contextmanager
def shared_dir(prefix: str) -> Iterator[Path]:
    """A directory the proxy's unprivileged uid can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class StandInTailscaled:
    """The stand-in LocalAPI: its socket, the status file it serves, and the file that sets its mode."""

    service: RunningService
    socket_path: Path
    status_path: Path
    mode_path: Path

    def set_mode(self, mode: str) -> None:
        self.mode_path.write_text(mode)

    def requests(self) -> list[str]:
        return [line for line in self.service.log().splitlines() if " -> " in line]


@contextmanager
def standin_tailscaled(log_dir: Path, slow_seconds: float = 30.0) -> Iterator[StandInTailscaled]:
    with shared_dir("cf-tailscaled-") as root:
        fixtures = root / "fixtures"
        shutil.copytree(FIXTURES, fixtures)
        socket_path = root / "tailscaled.sock"
        mode_path = root / "mode"
        argv = python_argv(
            "-m",
            "tests.standins.localapi",
            "--socket",
            str(socket_path),
            "--fixtures",
            str(fixtures),
            "--mode-file",
            str(mode_path),
            "--slow-seconds",
            str(slow_seconds),
        )
        with service(
            "localapi",
            argv,
            port=0,
            log_dir=log_dir,
            ready=lambda: socket_answers(socket_path),
            cwd=REPO_ROOT,
        ) as running:
            yield StandInTailscaled(running, socket_path, fixtures / "status.json", mode_path)


def as_proxy_uid(argv: list[str]) -> list[str]:
    """`argv` run as the proxy's unprivileged uid, as in the sidecar image (`USER 10001:10001`)."""
    if os.getuid() != 0:
        return argv
    return ["setpriv", f"--reuid={PROXY_UID}", f"--regid={PROXY_UID}", "--clear-groups", *argv]


@contextmanager
def socat_proxy(socket_path: Path, log_dir: Path) -> Iterator[RunningService]:
    """sidecar/localapi-proxy.sh, the image's entrypoint, on 127.0.0.1 as uid 10001."""
    port = free_port()
    argv = as_proxy_uid(["/bin/sh", str(SIDECAR / "localapi-proxy.sh")])
    env = {"TS_SOCKET": str(socket_path), "LISTEN_ADDRESS": "127.0.0.1", "LISTEN_PORT": str(port)}
    with service("localapi-proxy", argv, port=port, log_dir=log_dir, env=env) as running:
        yield running


def render_nginx_conf(values: dict[str, str]) -> str:
    """sidecar/nginx.conf.template with its ${CF_...} placeholders filled, as envsubst does."""
    text = (SIDECAR / "nginx.conf.template").read_text()
    for name in NGINX_PLACEHOLDERS:
        text = text.replace("${" + name + "}", values[name])
    if re.search(r"\$\{CF_[A-Z_]+\}", text):
        raise ValueError("sidecar/nginx.conf.template has a placeholder render_nginx_conf does not know")
    return text


@dataclass
class RunningNginx:
    service: RunningService
    access_log: Path
    host: str = "127.0.0.1"

    @property
    def port(self) -> int:
        return self.service.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.service.port}"

    def reopen_logs(self) -> None:
        """What logrotate's postrotate does: SIGUSR1 makes nginx reopen its log files."""
        os.kill(self.service.process.pid, signal.SIGUSR1)


@contextmanager
def nginx(
    prefix: Path, app_port: int, access_log: Path, log_dir: Path, listen_host: str = "127.0.0.1"
) -> Iterator[RunningNginx]:
    """The project's nginx config in the foreground, with its own prefix, on a free port of `listen_host`."""
    port = free_port()
    run_dir = prefix / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        render_nginx_conf(
            {
                "CF_NGINX_LISTEN": f"{listen_host}:{port}",
                "CF_APP_UPSTREAM": f"127.0.0.1:{app_port}",
                "CF_ACCESS_LOG": str(access_log),
                "CF_NGINX_RUN_DIR": str(run_dir),
            }
        )
    )
    argv = ["nginx", "-p", str(prefix), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]
    ready = lambda: port_answers(port, listen_host)  # noqa: E731
    with service("nginx", argv, port=port, log_dir=log_dir, ready=ready) as running:
        yield RunningNginx(running, access_log, listen_host)


def nginx_config_ok(conf: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nginx", "-t", "-p", str(prefix), "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
    )


@contextmanager
def app_process(env: dict[str, str], log_dir: Path, name: str = "app") -> Iterator[RunningService]:
    """`python -m app` on a free port with `env` on top of the test's environment."""
    port = free_port()
    with service(
        name,
        python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
        port=port,
        log_dir=log_dir,
        env=env,
        cwd=REPO_ROOT,
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
        timeout=60,
    ) as running:
        yield running
