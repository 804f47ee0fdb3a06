"""Start a local service on a free port, wait until it answers, and stop it afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_answers(port: int, host: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_answers(url: str, expect_status: int | None = None, **client_kwargs: object) -> bool:
    try:
        response = httpx.get(url, timeout=2.0, **client_kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError:
        return False
    return expect_status is None or response.status_code == expect_status


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} did not become ready within {timeout:.0f} s")


@dataclass
class RunningService:
    """A process started by `service()`: where it listens and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


@contextmanager
def service(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    log_dir: Path,
    ready: Callable[[], bool] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
) -> Iterator[RunningService]:
    """Run `argv` as a service in its own process group; yield once `ready()` is true (default: port open).

    The service's output goes to `log_dir/<name>.log`, which is shown when it fails to start.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            list(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    running = RunningService(name=name, process=process, port=port, log_path=log_path)
    check = ready or (lambda: port_answers(port))
    try:
        try:
            wait_until(lambda: check() or not running.alive(), timeout, name)
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}; its output:\n{running.log()}") from None
        if not running.alive():
            raise RuntimeError(f"{name} exited with {process.returncode}; its output:\n{running.log()}")
        yield running
    finally:
        stop_process(process)


def python_argv(*args: str) -> list[str]:
    """argv for a Python module or script run with the interpreter running the tests."""
    return [sys.executable, *args]
