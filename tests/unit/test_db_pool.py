"""The PostgreSQL pool: its size bounds the connections, its timeout how long a request waits for one."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.support.postgres import PostgresCluster

pytestmark = pytest.mark.postgresql


def _sessions(cluster: PostgresCluster, database: str) -> int:
    return int(cluster.sql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'"))


async def test_a_full_pool_answers_503_after_the_pool_timeout_then_serves_again(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    database = "pool_limits"
    postgres_cluster.drop_database(database)
    settings = Settings(
        data_dir=tmp_path,
        database_url_override=postgres_cluster.create_database(database),
        scheduler_enabled=False,
        db_pool_size=2,
        db_pool_max_overflow=1,
        db_pool_timeout_seconds=0.5,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        db = app.state.ctx.db
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            held = [db.connect() for _ in range(3)]
            for connection in held:
                await connection.__aenter__()
            try:
                assert _sessions(postgres_cluster, database) == 3, "size 2 + overflow 1, and no more"
                started = time.monotonic()
                refused = await client.get("/production/batches")
                waited = time.monotonic() - started
            finally:
                for connection in held:
                    await connection.__aexit__(None, None, None)
            served = await client.get("/production/batches")
    postgres_cluster.drop_database(database)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
    assert "CF_DB_POOL_SIZE" in refused.json()["detail"]
    assert 0.5 <= waited < 3, f"the request waited CF_DB_POOL_TIMEOUT_SECONDS (0.5 s), not {waited:.1f} s"
    assert served.status_code == 200
