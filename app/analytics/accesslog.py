"""Incremental ingestion of nginx's JSON access log (sidecar/nginx.conf.template, format `cf_json`).

Where reading stopped is stored per log path: the file's inode, the byte offset after the last complete
line, and a fingerprint of the file's first bytes. Each batch of requests is stored in the same
transaction as the new offset, so a crash or restart never stores a line twice, and the update only
succeeds when the stored offset is still the one this run started from (two ingesters cannot both
store the same lines).

- Rotation (`mv access.log access.log.1`, then nginx reopens): the inode changes; the rest of the old
  file is read first (found next to the log by its inode), and once it has been quiet for
  ROTATION_SETTLE_SECONDS (nginx workers may still write to it briefly), the new file from its start.
- Truncation (`copytruncate`) or a replaced file: the file is shorter than the offset, or its first
  bytes differ; it is read from the start.
- A line being written (no newline yet) is left for the next run. Lines that are not the expected JSON
  are counted as malformed and skipped.

Each request is stored with its user and device: the user from the `Tailscale-User-Login` header nginx
logged, else from a whois of the client address; the device from that whois (cached).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import sqlalchemy as sa

from app.analytics.tables import access_log_state, access_requests
from app.analytics.tailnet import Identity
from app.db import Database, utc_now
from app.errors import ExpectedFailure

log = logging.getLogger(__name__)

HEAD_BYTES = 256
MAX_LINE_BYTES = 64 * 1024
# A renamed log written to less recently than this is finished: the new file is read next.
ROTATION_SETTLE_SECONDS = 2.0
_JSON = json.JSONDecoder()
TAILNET_NETWORKS = (ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("fd7a:115c:a1e0::/48"))


class WhoisResolver(Protocol):
    async def whois(self, addr: str) -> Identity | None: ...


class ConcurrentIngestion(ExpectedFailure):
    """Another ingester stored lines of this log meanwhile; this run's batch was rolled back."""


@dataclass
class LogPosition:
    """Where reading of one log path stands (a row of `access_log_state`)."""

    inode: int
    offset: int
    head_length: int
    head_hash: str
    lines: int = 0
    malformed: int = 0


@dataclass
class IngestResult:
    lines: int = 0
    malformed: int = 0
    files: list[str] = field(default_factory=list)


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    malformed: int
    consumed: int
    first_malformed: int | None  # byte offset of the first malformed line: its text may hold a login


def _head(fd: int, length: int) -> tuple[int, str]:
    head = os.pread(fd, length, 0)
    return len(head), hashlib.sha256(head).hexdigest()


def _same_file(fd: int, position: LogPosition) -> bool:
    length, digest = _head(fd, position.head_length)
    return length == position.head_length and digest == position.head_hash


def _decode_mime(value: str) -> str:
    """`tailscale serve` sends non-ASCII display names RFC 2047-encoded (`=?utf-8?q?...?=`)."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One access-log line as a row of `access_requests` (without identity), or None when malformed."""
    try:
        data = _JSON.decode(line.decode("utf-8", "replace"))
        if not isinstance(data, dict):
            return None
        ts = datetime.fromisoformat(data["time"])
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        method = str(data["method"])
        path = str(data["path"])
        status = int(data["status"])
        size = int(data.get("bytes") or 0)
        duration_ms = float(data.get("duration") or 0.0) * 1000.0
        client = str(data["client"])
    except (ValueError, KeyError, TypeError):
        return None
    login = str(data.get("user_login") or "")
    name = str(data.get("user_name") or "")
    return {
        "ts": ts,
        "client": client[:64],
        "method": method[:16],
        # Query strings are dropped: analytics count pages, and parameters may carry anything.
        "path": path.split("?", 1)[0][:500],
        "status": status,
        "bytes": size,
        "duration_ms": duration_ms,
        "user_agent": str(data.get("user_agent") or "")[:300],
        "user_login": login[:200] or None,
        "user_name": _decode_mime(name)[:200] or None,
        "request_id": str(data.get("request_id") or "")[:64],
    }


def read_batch(fh: BinaryIO, max_lines: int) -> _Batch:
    """Read up to `max_lines` complete lines from `fh`'s position; a trailing partial line is left."""
    records: list[dict[str, Any]] = []
    malformed = 0
    consumed = 0
    first_malformed: int | None = None
    start = fh.tell()
    for _ in range(max_lines):
        line = fh.readline(MAX_LINE_BYTES)
        if not line:
            break
        if not line.endswith(b"\n"):
            if len(line) < MAX_LINE_BYTES:
                fh.seek(-len(line), os.SEEK_CUR)
                break
            skipped = _skip_overlong(fh, line)
            if skipped is None:
                break
            consumed += skipped
            malformed += 1
            continue
        consumed += len(line)
        if not line.strip():
            continue
        record = parse_line(line)
        if record is None:
            malformed += 1
            if first_malformed is None:
                first_malformed = start + consumed - len(line)
        else:
            records.append(record)
    return _Batch(records, malformed, consumed, first_malformed)


def _skip_overlong(fh: BinaryIO, start: bytes) -> int | None:
    """Skip a line longer than MAX_LINE_BYTES; its length, or None (rewound) when it is not complete."""
    length = len(start)
    while True:
        piece = fh.readline(MAX_LINE_BYTES)
        length += len(piece)
        if piece.endswith(b"\n"):
            return length
        if len(piece) < MAX_LINE_BYTES:
            fh.seek(-length, os.SEEK_CUR)
            return None


def _on_tailnet(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in network for network in TAILNET_NETWORKS)


async def _with_identities(records: list[dict[str, Any]], resolver: WhoisResolver | None) -> None:
    identities: dict[str, Identity | None] = {}
    if resolver is not None:
        for client in {r["client"] for r in records}:
            identities[client] = await resolver.whois(client) if _on_tailnet(client) else None
    for record in records:
        identity = identities.get(record["client"])
        if record["user_login"]:
            record["identity_source"] = "header"
        elif identity is not None and identity.user_login:
            record["user_login"] = identity.user_login[:200]
            record["user_name"] = identity.user_name[:200] or None
            record["identity_source"] = "whois"
        else:
            record["identity_source"] = None
        record["device_node_id"] = identity.node_id[:100] if identity else None
        record["device_name"] = identity.host_name[:200] if identity else None


class AccessLogIngester:
    """Reads one access log incrementally into `access_requests`."""

    def __init__(
        self,
        db: Database,
        path: Path,
        resolver: WhoisResolver | None = None,
        batch_lines: int = 5000,
        rotation_settle_seconds: float = ROTATION_SETTLE_SECONDS,
    ) -> None:
        self.db = db
        self.rotation_settle_seconds = rotation_settle_seconds
        self.path = path
        self.key = str(path)
        self.resolver = resolver
        self.batch_lines = batch_lines

    async def run(self) -> IngestResult:
        """Ingest everything new since the last run."""
        result = IngestResult()
        stored = await self._load()
        try:
            current_inode: int | None = self.path.stat().st_ino
        except FileNotFoundError:
            current_inode = None
        if stored is not None and current_inode != stored.inode:
            rotated = self._rotated_file(stored.inode)
            if rotated is not None:
                stored = await self._finish_rotated(rotated, stored, result)
                if self._still_written(rotated):
                    # nginx's workers reopen the log a moment after its master: until the renamed file
                    # has been quiet for a while, stay with it, so none of its last lines are lost.
                    return result
        if current_inode is None:
            return result
        with self.path.open("rb") as fh:
            inode = os.fstat(fh.fileno()).st_ino
            size = os.fstat(fh.fileno()).st_size
            position = LogPosition(**vars(stored)) if stored is not None else None
            if (
                stored is None
                or stored.inode != inode
                or size < stored.offset
                or not _same_file(fh.fileno(), stored)
            ):
                position = LogPosition(
                    inode=inode,
                    offset=0,
                    head_length=0,
                    head_hash=hashlib.sha256(b"").hexdigest(),
                    lines=stored.lines if stored else 0,
                    malformed=stored.malformed if stored else 0,
                )
            assert position is not None
            await self._ingest_open(fh, position, stored, result)
            result.files.append(str(self.path))
        return result

    def _still_written(self, rotated: Path) -> bool:
        try:
            return time.time() - rotated.stat().st_mtime < self.rotation_settle_seconds
        except OSError:
            return False

    def _rotated_file(self, inode: int) -> Path | None:
        """The log's earlier file, renamed next to it (`access.log.1`), found by its inode."""
        try:
            siblings = list(self.path.parent.iterdir())
        except OSError:
            return None
        for candidate in sorted(siblings):
            if candidate == self.path or not candidate.name.startswith(self.path.name):
                continue
            try:
                if candidate.stat().st_ino == inode and candidate.is_file():
                    return candidate
            except OSError:
                continue
        return None

    async def _finish_rotated(self, rotated: Path, stored: LogPosition, result: IngestResult) -> LogPosition:
        with rotated.open("rb") as fh:
            if os.fstat(fh.fileno()).st_ino != stored.inode or not _same_file(fh.fileno(), stored):
                return stored
            position = LogPosition(**vars(stored))
            await self._ingest_open(fh, position, stored, result)
            result.files.append(str(rotated))
            return position

    async def _ingest_open(
        self, fh: BinaryIO, position: LogPosition, stored: LogPosition | None, result: IngestResult
    ) -> None:
        """Read `fh` from `position.offset` to its last complete line, one transaction per batch."""
        fh.seek(position.offset)
        first_malformed: int | None = None
        malformed_before = result.malformed
        reading = asyncio.ensure_future(asyncio.to_thread(read_batch, fh, self.batch_lines))
        try:
            while True:
                batch = await reading
                if batch.consumed == 0:
                    break
                # The file is read on while this batch is stored: parsing and SQLite overlap.
                reading = asyncio.ensure_future(asyncio.to_thread(read_batch, fh, self.batch_lines))
                if first_malformed is None:
                    first_malformed = batch.first_malformed
                if position.head_length < HEAD_BYTES:
                    position.head_length, position.head_hash = _head(fh.fileno(), HEAD_BYTES)
                await _with_identities(batch.records, self.resolver)
                position.offset += batch.consumed
                position.lines += len(batch.records)
                position.malformed += batch.malformed
                await self._store(batch.records, position, stored)
                stored = LogPosition(**vars(position))
                result.lines += len(batch.records)
                result.malformed += batch.malformed
        finally:
            # Never leave a thread reading a file that is about to be closed.
            with contextlib.suppress(Exception):
                await reading
        if first_malformed is not None:
            # The offset, not the line: a line of the access log names its user (see app/logging.py).
            log.warning(
                "access log %s: %d malformed line(s) skipped, the first at byte %d",
                fh.name,
                result.malformed - malformed_before,
                first_malformed,
            )

    async def _load(self) -> LogPosition | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(sa.select(access_log_state).where(access_log_state.c.path == self.key))
            ).first()
        if row is None:
            return None
        return LogPosition(
            inode=int(row.inode),
            offset=int(row.offset),
            head_length=int(row.head_length),
            head_hash=row.head_hash,
            lines=int(row.lines),
            malformed=int(row.malformed),
        )

    async def _store(
        self, records: Iterable[dict[str, Any]], position: LogPosition, stored: LogPosition | None
    ) -> None:
        values = {
            "inode": position.inode,
            "offset": position.offset,
            "head_length": position.head_length,
            "head_hash": position.head_hash,
            "lines": position.lines,
            "malformed": position.malformed,
            "updated_at": utc_now(),
        }
        rows = list(records)
        async with self.db.begin() as conn:
            if stored is None:
                try:
                    await conn.execute(access_log_state.insert().values(path=self.key, **values))
                except sa.exc.IntegrityError:
                    raise ConcurrentIngestion(
                        f"access log {self.path}: another ingester started it"
                    ) from None
            else:
                state = access_log_state.c
                updated = await conn.execute(
                    access_log_state.update()
                    .where(state.path == self.key, state.inode == stored.inode, state.offset == stored.offset)
                    .values(**values)
                )
                if updated.rowcount != 1:
                    raise ConcurrentIngestion(f"access log {self.path}: another ingester moved the offset")
            if rows:
                await conn.execute(access_requests.insert(), rows)


async def ingestion_totals(db: Database) -> dict[str, Any]:
    """Lines stored and malformed lines skipped over all logs, and when ingestion last stored."""
    async with db.connect() as conn:
        row = (
            await conn.execute(
                sa.select(
                    sa.func.coalesce(sa.func.sum(access_log_state.c.lines), 0),
                    sa.func.coalesce(sa.func.sum(access_log_state.c.malformed), 0),
                    sa.func.max(access_log_state.c.updated_at),
                )
            )
        ).one()
    updated = row[2]
    if isinstance(updated, str):
        updated = datetime.fromisoformat(updated).replace(tzinfo=UTC)
    elif updated is not None and updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    return {"lines": int(row[0]), "malformed": int(row[1]), "last_stored_at": updated}
