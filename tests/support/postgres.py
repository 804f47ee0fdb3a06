"""A throwaway PostgreSQL cluster: Debian's server programs, a temporary directory, a free port.

`initdb` makes the cluster and `pg_ctl` starts and stops it, as in the PostgreSQL manual ("Creating a
Database Cluster", "Starting the Database Server"). The server refuses to run as root
(src/backend/main/main.c: "root" execution of the PostgreSQL server is not permitted), so when the
tests run as root the cluster belongs to the unprivileged account Debian's package creates
(`postgres`), or to a system account `cfpg` made here when that one is missing.

It listens on 127.0.0.1 only, with `trust` authentication for the one database role `cf`: nothing but
this machine reaches it, and it lives only as long as the test session. Durability is switched off
(`fsync`, `synchronous_commit`, `full_page_writes`): a crash loses a throwaway cluster, nothing else.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import LOOPBACK, free_port, port_answers, wait_until

#: The database role the tests (and the app under test) connect as; superuser of the cluster.
ROLE = "cf"
#: The server's default TimeZone: the factory's, as a server set up in Spain would have it. The app must
#: give the same answers as on SQLite (which knows no zones), so it may not depend on this.
SERVER_TIMEZONE = "Europe/Madrid"
#: Accounts the server may run as when the tests run as root: Debian's, else one made for the tests.
SERVER_ACCOUNTS = ("postgres", "cfpg")


def server_bin_dir() -> Path | None:
    """/usr/lib/postgresql/<major>/bin of the newest server installed (Debian's layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version)
    return Path(found[-1]).parent if found else None


def _major_version(initdb: str) -> int:
    match = re.search(r"/postgresql/(\d+)/", initdb)
    return int(match.group(1)) if match else 0


def _server_account() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as; None when the tests already run unprivileged."""
    if os.geteuid() != 0:
        return None
    for name in SERVER_ACCOUNTS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_ACCOUNTS[-1]],
        check=True,
    )
    return pwd.getpwnam(SERVER_ACCOUNTS[-1])


@dataclass
class PostgresCluster:
    """A running cluster: its programs, its directory and its port."""

    bin_dir: Path
    root: Path
    port: int
    account: pwd.struct_passwd | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str) -> str:
        """The SQLAlchemy async URL of `database` on this cluster (asyncpg driver)."""
        return f"postgresql+asyncpg://{ROLE}@{LOOPBACK}:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        user = {"user": self.account.pw_uid, "group": self.account.pw_gid} if self.account else {}
        result = subprocess.run(
            list(args), capture_output=True, text=True, cwd=self.root, timeout=120, check=False, **user
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def init(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            ROLE,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses={LOOPBACK} -c port={self.port} -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            f"-c timezone={SERVER_TIMEZONE}"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_path),
            "--options",
            options,
            "--wait",
            "start",
        )
        wait_until(lambda: port_answers(self.port), 30, f"PostgreSQL on port {self.port}")

    def stop(self) -> None:
        """Stop at once: open sessions are ended (`-m fast`), as a server restart would."""
        self._run(
            str(self.bin_dir / "pg_ctl"), "--pgdata", str(self.data_dir), "--mode", "fast", "--wait", "stop"
        )

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql; returns its unaligned output."""
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "--no-psqlrc",
                "--quiet",
                "--tuples-only",
                "--no-align",
                "--set",
                "ON_ERROR_STOP=1",
                "--host",
                LOOPBACK,
                "--port",
                str(self.port),
                "--username",
                ROLE,
                "--dbname",
                database,
                "--command",
                statement,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql {statement!r} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        """A new, empty database copied from `template0`; returns its URL."""
        self.sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def throwaway_cluster() -> Iterator[PostgresCluster]:
    """A cluster made, started and, on exit, stopped and deleted."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "no PostgreSQL server under /usr/lib/postgresql: run `bash scripts/setup.sh services`"
        )
    account = _server_account()
    root = Path(tempfile.mkdtemp(prefix="cf-postgres-"))
    if account is not None:
        os.chown(root, account.pw_uid, account.pw_gid)
    root.chmod(0o700)
    cluster = PostgresCluster(bin_dir=bin_dir, root=root, port=free_port(), account=account)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            if (cluster.data_dir / "postmaster.pid").exists():
                cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
