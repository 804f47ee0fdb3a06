"""The app served by a real uvicorn (one worker) next to its stand-ins, with the sample data loaded.

Used by the benchmarks and the resilience tests alike:

    with running_app(workdir) as stack:
        httpx.get(stack.url + "/health")

Stand-ins that are not in the repository yet are left out and listed in `stack.absent`, so a caller can
say so instead of measuring something else without noticing.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.services import RunningService, free_port, http_answers, python_argv, service

BENCH_APP_MODULE = "tests.bench.ceiling_app"
CLAUDE_STANDIN = "tests.standins.claude"
LOCALAPI_STANDIN = "tests.standins.localapi"
SAMPLE_DATA = "app.bi.sample_data"


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@dataclass
class AppStack:
    """A running app and what it talks to."""

    app: RunningService
    data_dir: Path
    env: dict[str, str]
    claude: RunningService | None = None
    localapi_socket: Path | None = None
    localapi_mode_file: Path | None = None
    absent: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.app.url

    def set_localapi_mode(self, mode: str) -> None:
        """Switch the stand-in LocalAPI to `normal`, `down`, `slow` or `garbage` (read per request)."""
        if self.localapi_mode_file is None:
            raise RuntimeError("this stack runs no stand-in LocalAPI")
        self.localapi_mode_file.write_text(mode)


def app_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every benchmarked or fuzzed app runs with: its own data dir, no scheduler.

    Requests come from this machine, as under `make run`: they may read the analytics and write
    production batches (as the local writer `bench`), so the write path is measured and fuzzed too.
    """
    return {
        "CF_DATA_DIR": str(data_dir),
        "CF_SCHEDULER_ENABLED": "false",
        "CF_ANALYTICS_ALLOW_LOCAL": "true",
        "CF_PRODUCTION_LOCAL_WRITER": "bench",
        **(extra or {}),
    }


def load_sample_data(env: Mapping[str, str], log_dir: Path) -> bool:
    """`python -m app.bi.sample_data` into the app's database; False when the loader does not exist yet."""
    if not module_exists(SAMPLE_DATA):
        return False
    log_dir.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        python_argv("-m", SAMPLE_DATA),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    (log_dir / "sample-data.log").write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise RuntimeError(f"python -m {SAMPLE_DATA} failed:\n{completed.stdout}{completed.stderr}")
    return True


@contextmanager
def claude_standin(log_dir: Path, mode: str | None = None) -> Iterator[RunningService]:
    port = free_port()
    argv = python_argv("-m", CLAUDE_STANDIN, "--port", str(port))
    if mode:
        argv += ["--mode", mode]
    with service("claude-standin", argv, port=port, log_dir=log_dir) as running:
        yield running


@contextmanager
def localapi_standin(
    log_dir: Path, mode: str = "normal", slow_seconds: float = 30.0
) -> Iterator[tuple[Path, Path]]:
    """The stand-in tailscaled on a unix socket; yields (socket, mode file): write the file to switch."""
    log_dir.mkdir(parents=True, exist_ok=True)
    socket_path = log_dir / "tailscaled.sock"
    mode_file = log_dir / "localapi.mode"
    mode_file.write_text(mode)
    argv = python_argv(
        "-m",
        LOCALAPI_STANDIN,
        "--socket",
        str(socket_path),
        "--mode-file",
        str(mode_file),
        "--slow-seconds",
        str(slow_seconds),
    )
    with service("localapi-standin", argv, port=0, log_dir=log_dir, ready=lambda: socket_path.exists()):
        yield socket_path, mode_file


def scheduler_env(unreachable_port: int) -> dict[str, str]:
    """Run the scheduler, with the public data sources pointed at a closed local port (no outside traffic)."""
    dead = f"http://127.0.0.1:{unreachable_port}"
    return {
        "CF_SCHEDULER_ENABLED": "true",
        "CF_REE_BASE_URL": dead,
        "CF_OPEN_METEO_BASE_URL": dead,
        "CF_AEMET_BASE_URL": dead,
        "CF_AEMET_API_KEY": "",
    }


@contextmanager
def running_app(
    workdir: Path,
    *,
    app_module: str = BENCH_APP_MODULE,
    env: Mapping[str, str] | None = None,
    with_claude: bool = True,
    claude_mode: str | None = None,
    with_localapi: bool = True,
    localapi_mode: str = "normal",
    localapi_slow_seconds: float = 30.0,
    with_scheduler: bool = False,
    sample_data: bool = True,
    port: int | None = None,
    data_dir: Path | None = None,
) -> Iterator[AppStack]:
    """Start stand-ins, load the sample data, then the app under uvicorn with one worker; stop all after.

    `app_module` is run as `python -m <app_module> --host 127.0.0.1 --port N`: the bench app (the real app
    plus the ceiling endpoint) by default, or `app` itself.
    """
    log_dir = workdir / "logs"
    data_dir = data_dir or workdir / "data"
    absent: list[str] = []
    with ExitStack() as stack:
        extra: dict[str, str] = {}
        claude = None
        if with_claude:
            if module_exists(CLAUDE_STANDIN):
                claude = stack.enter_context(claude_standin(log_dir, claude_mode))
                extra |= {"ANTHROPIC_BASE_URL": claude.url, "ANTHROPIC_API_KEY": "sk-ant-standin"}
            else:
                absent.append(f"{CLAUDE_STANDIN} (chat runs without a key: degraded answers)")
        socket_path = mode_file = None
        if with_localapi:
            if module_exists(LOCALAPI_STANDIN):
                socket_path, mode_file = stack.enter_context(
                    localapi_standin(log_dir, localapi_mode, localapi_slow_seconds)
                )
                extra["CF_ANALYTICS_LOCALAPI_URL"] = f"unix://{socket_path}"
            else:
                absent.append(f"{LOCALAPI_STANDIN} (analytics see no tailnet)")
        if with_scheduler:
            extra |= scheduler_env(free_port())
        full_env = app_env(data_dir, {**extra, **(env or {})})
        if sample_data and not load_sample_data(full_env, log_dir):
            absent.append(f"{SAMPLE_DATA} (the database holds no BI data)")
        app_port = port or free_port()
        argv = python_argv("-m", app_module, "--host", "127.0.0.1", "--port", str(app_port))
        app = stack.enter_context(
            service(
                "app",
                argv,
                port=app_port,
                log_dir=log_dir,
                env=full_env,
                ready=lambda: http_answers(f"http://127.0.0.1:{app_port}/health", 200),
                timeout=60,
            )
        )
        yield AppStack(
            app=app,
            data_dir=data_dir,
            env=full_env,
            claude=claude,
            localapi_socket=socket_path,
            localapi_mode_file=mode_file,
            absent=absent,
        )


if __name__ == "__main__":  # pragma: no cover - manual use: serve the bench stack until Ctrl-C
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp)) as running:
        print(running.url, "absent:", running.absent, file=sys.stderr)
        while True:
            time.sleep(3600)
