"""The tests' PostgreSQL cluster: unprivileged, on loopback only, and a fresh database per test."""

from __future__ import annotations

import os

import pytest

from tests.support.postgres import SERVER_TIMEZONE, PostgresCluster

pytestmark = pytest.mark.postgresql


def test_the_server_runs_unprivileged_on_loopback_in_madrid_time(postgres_cluster: PostgresCluster) -> None:
    pid = int((postgres_cluster.data_dir / "postmaster.pid").read_text().split()[0])
    assert os.stat(f"/proc/{pid}").st_uid != 0, "PostgreSQL refuses root; the cluster runs as another user"
    assert postgres_cluster.sql("SHOW listen_addresses") == "127.0.0.1"
    assert postgres_cluster.sql("SHOW TimeZone") == SERVER_TIMEZONE


def test_databases_made_for_tests_start_empty(postgres_cluster: PostgresCluster) -> None:
    first = "fresh_one"
    second = "fresh_two"
    for name in (first, second):
        postgres_cluster.drop_database(name)
    postgres_cluster.create_database(first)
    postgres_cluster.sql("CREATE TABLE leftovers (id int)", database=first)
    postgres_cluster.create_database(second)
    tables = postgres_cluster.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", database=second
    )
    for name in (first, second):
        postgres_cluster.drop_database(name)
    assert tables == "0"
