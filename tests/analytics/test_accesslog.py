"""Incremental access-log ingestion: offsets, rotation, truncation, malformed lines, identities."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.analytics.accesslog import AccessLogIngester, ConcurrentIngestion, IngestResult
from app.analytics.tables import access_requests
from app.analytics.tailnet import TailnetService
from app.db import Database
from app.settings import Settings
from tests.analytics.support import StandInTailscaled


def line(path: str, client: str = "100.101.3.30", login: str = "", name: str = "", status: int = 200) -> str:
    entry = {
        "time": "2026-11-25T10:00:00+00:00",
        "client": client,
        "method": "GET",
        "path": path,
        "status": status,
        "bytes": 512,
        "duration": 0.012,
        "user_agent": "Mozilla/5.0",
        "user_login": login,
        "user_name": name,
        "request_id": os.urandom(8).hex(),
    }
    return json.dumps(entry) + "\n"


def append(path: Path, *lines: str) -> None:
    with path.open("a") as handle:
        handle.writelines(lines)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.dispose()


async def stored_paths(db: Database) -> list[str]:
    async with db.connect() as conn:
        rows = await conn.execute(sa.select(access_requests.c.path).order_by(access_requests.c.id))
        return [row.path for row in rows]


async def test_each_line_is_stored_once_across_runs_and_restarts(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, line("/a"), line("/b"))
    assert (await AccessLogIngester(db, log).run()).lines == 2
    assert (await AccessLogIngester(db, log).run()).lines == 0, "a new ingester (restart) resumes"
    append(log, line("/c"))
    await AccessLogIngester(db, log).run()
    assert await stored_paths(db) == ["/a", "/b", "/c"]


async def test_a_line_still_being_written_waits_for_its_newline(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    whole = line("/complete")
    append(log, line("/first"), whole[:20])
    await AccessLogIngester(db, log).run()
    append(log, whole[20:])
    await AccessLogIngester(db, log).run()
    assert await stored_paths(db) == ["/first", "/complete"]


async def test_rotation_reads_the_rest_of_the_old_file_then_the_new_one(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, line("/before"))
    await AccessLogIngester(db, log).run()
    rotated = tmp_path / "access.log.1"
    log.rename(rotated)
    append(rotated, line("/written-after-rename"))  # nginx writes to the old file until it reopens
    append(log, line("/new-file"))
    result = await AccessLogIngester(db, log, rotation_settle_seconds=0).run()
    assert result.lines == 2
    assert await stored_paths(db) == ["/before", "/written-after-rename", "/new-file"]
    assert (await AccessLogIngester(db, log, rotation_settle_seconds=0).run()).lines == 0


async def test_lines_written_to_the_renamed_file_after_the_new_one_appeared_are_not_lost(
    db: Database, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    append(log, line("/before"))
    await AccessLogIngester(db, log).run()
    rotated = tmp_path / "access.log.1"
    log.rename(rotated)
    append(log, line("/new-file"))  # the master reopened the log ...
    await AccessLogIngester(db, log, rotation_settle_seconds=60).run()
    append(rotated, line("/late-worker"))  # ... a worker had not yet
    await AccessLogIngester(db, log, rotation_settle_seconds=60).run()
    quiet = os.stat(rotated).st_mtime - 120
    os.utime(rotated, (quiet, quiet))
    await AccessLogIngester(db, log, rotation_settle_seconds=60).run()
    assert await stored_paths(db) == ["/before", "/late-worker", "/new-file"]


async def test_a_truncated_log_is_read_again_from_its_start(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, line("/one"), line("/two"), line("/three"))
    await AccessLogIngester(db, log).run()
    log.write_text("")  # copytruncate
    append(log, line("/after-truncate"))
    await AccessLogIngester(db, log).run()
    assert await stored_paths(db) == ["/one", "/two", "/three", "/after-truncate"]


async def test_a_replaced_file_that_grew_past_the_offset_is_recognised(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, line("/old"))
    await AccessLogIngester(db, log).run()
    with log.open("r+") as handle:  # same inode, other content, longer than before
        handle.seek(0)
        handle.write(line("/new-1") + line("/new-2"))
        handle.truncate()
    await AccessLogIngester(db, log).run()
    assert await stored_paths(db) == ["/old", "/new-1", "/new-2"]


async def test_malformed_lines_are_counted_and_skipped(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, line("/ok"), "not json\n", '{"time": "yesterday"}\n', "[1,2]\n", "x" * 70_000 + "\n")
    append(log, line("/ok-too"))
    result = await AccessLogIngester(db, log).run()
    assert (result.lines, result.malformed) == (2, 4)
    assert await stored_paths(db) == ["/ok", "/ok-too"]


async def test_query_strings_are_not_stored(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, line("/api/prices?day=2026-11-25&token=secret"))
    await AccessLogIngester(db, log).run()
    assert await stored_paths(db) == ["/api/prices"]


async def test_two_ingesters_running_at_once_store_each_line_once(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, *(line(f"/{i}") for i in range(50)))
    results = await asyncio.gather(
        *(AccessLogIngester(db, log, batch_lines=10).run() for _ in range(3)), return_exceptions=True
    )
    stored = await stored_paths(db)
    assert sorted(stored) == sorted(f"/{i}" for i in range(50))
    for result in results:
        assert isinstance(result, ConcurrentIngestion | IngestResult), result


async def test_users_come_from_the_login_header_else_from_whois(
    db: Database, tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    log = tmp_path / "access.log"
    append(
        log,
        line(
            "/header",
            client="100.101.2.20",
            login="marta@chocolate.example",
            name="=?utf-8?q?Marta_Ru=C3=ADz?=",
        ),
        line("/whois", client="100.101.3.30"),
        line("/whois-again", client="100.101.3.30"),
        line("/tagged", client="100.101.1.11"),
        line("/local", client="127.0.0.1"),
    )
    settings = Settings(analytics_localapi_url=f"unix://{tailscaled.socket_path}")
    tailnet = TailnetService.from_settings(settings)
    try:
        await AccessLogIngester(db, log, resolver=tailnet).run()
    finally:
        await tailnet.aclose()
    async with db.connect() as conn:
        rows = {r.path: r for r in await conn.execute(sa.select(access_requests))}
    assert rows["/header"].user_login == "marta@chocolate.example"
    assert rows["/header"].user_name == "Marta Ruíz"
    assert rows["/header"].identity_source == "header"
    assert rows["/header"].device_name == "marta-laptop"
    assert (rows["/whois"].user_login, rows["/whois"].identity_source) == ("ana@chocolate.example", "whois")
    assert rows["/whois"].device_name == "ana-thinkpad"
    assert rows["/tagged"].user_login is None and rows["/tagged"].device_name == "git"
    assert rows["/local"].user_login is None and rows["/local"].device_name is None
    whois_calls = [r for r in tailscaled.requests() if "/whois" in r]
    assert len(whois_calls) == 3, "one whois per tailnet address, cached; none for 127.0.0.1"
