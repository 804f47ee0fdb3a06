"""Tables of the analytics feature and their migrations, applied in order by `Database.migrate()`.

History lives here: a snapshot of the tailnet every 15 minutes (one row per device and snapshot),
every device ever seen, and every request nginx logged, with its user and device.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.db import Migration, UTCDateTime, create_tables, metadata

tailnet_snapshots = sa.Table(
    "tailnet_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("taken_at", UTCDateTime, nullable=False, index=True),
    sa.Column("tailnet", sa.String(200), nullable=False, server_default=""),
    sa.Column("owner_login", sa.String(200), nullable=False, server_default=""),
    sa.Column("devices", sa.Integer, nullable=False),
    sa.Column("online", sa.Integer, nullable=False),
    sa.Column("quota_used", sa.Integer, nullable=False, doc="seats used under the plan's rule then"),
)

snapshot_devices = sa.Table(
    "tailnet_snapshot_devices",
    metadata,
    sa.Column(
        "snapshot_id",
        sa.Integer,
        sa.ForeignKey("tailnet_snapshots.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("node_id", sa.String(100), primary_key=True),
    sa.Column("taken_at", UTCDateTime, nullable=False, index=True),
    sa.Column("host_name", sa.String(200), nullable=False),
    sa.Column("dns_name", sa.String(300), nullable=False),
    sa.Column("os", sa.String(50), nullable=False),
    sa.Column("ips", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("user_login", sa.String(200), nullable=False),
    sa.Column("user_name", sa.String(200), nullable=False),
    sa.Column("online", sa.Boolean, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=True),
    sa.Column("key_expiry", UTCDateTime, nullable=True),
    sa.Column("is_self", sa.Boolean, nullable=False),
    sa.Column("subnet_routes", sa.JSON, nullable=False, server_default="[]", doc="approved subnet routes"),
    sa.Column("exit_node", sa.Boolean, nullable=False, server_default=sa.false(), doc="approved exit node"),
    sa.Column("version", sa.String(64), nullable=False, server_default="", doc="Tailscale version (Self)"),
    sa.Column("rx_bytes", sa.BigInteger, nullable=False, doc="tailscaled's counter (resets on restart)"),
    sa.Column("tx_bytes", sa.BigInteger, nullable=False),
    sa.Column("rx_delta", sa.BigInteger, nullable=False, doc="bytes received since the previous snapshot"),
    sa.Column("tx_delta", sa.BigInteger, nullable=False),
    sa.Index("ix_tailnet_snapshot_devices_node", "node_id", "taken_at"),
)

devices = sa.Table(
    "tailnet_devices",
    metadata,
    sa.Column("node_id", sa.String(100), primary_key=True),
    sa.Column("host_name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("user_login", sa.String(200), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False, doc="first snapshot that listed the device"),
    sa.Column("last_seen", UTCDateTime, nullable=True, doc="last time it was online"),
    sa.Column("last_listed", UTCDateTime, nullable=False, doc="last snapshot that listed it"),
)

access_log_state = sa.Table(
    "access_log_state",
    metadata,
    sa.Column("path", sa.String(500), primary_key=True),
    sa.Column("inode", sa.BigInteger, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False, doc="bytes of complete lines already stored"),
    sa.Column("head_length", sa.Integer, nullable=False, doc="bytes of the file's start fingerprinted"),
    sa.Column("head_hash", sa.String(64), nullable=False, doc="sha256 of those bytes: same file or not"),
    sa.Column("lines", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("malformed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

access_requests = sa.Table(
    "access_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", UTCDateTime, nullable=False, index=True),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("user_agent", sa.String(300), nullable=False),
    sa.Column("user_login", sa.String(200), nullable=True),
    sa.Column("user_name", sa.String(200), nullable=True),
    sa.Column("identity_source", sa.String(10), nullable=True, doc="header, whois, or null: unknown"),
    sa.Column("device_node_id", sa.String(100), nullable=True),
    sa.Column("device_name", sa.String(200), nullable=True),
    sa.Column("request_id", sa.String(64), nullable=False, server_default=""),
)


def _add_device_route_columns(conn: Connection) -> None:
    """Add the columns a database made by migration 1 lacks (a new one has them from its tables)."""
    present = {column["name"] for column in sa.inspect(conn).get_columns(snapshot_devices.name)}
    for column in ("subnet_routes", "exit_node", "version"):
        if column not in present:
            ddl = sa.schema.CreateColumn(snapshot_devices.c[column]).compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {snapshot_devices.name} ADD COLUMN {ddl}"))


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "tailnet snapshots and devices, access-log state and requests",
        create_tables(tailnet_snapshots, snapshot_devices, devices, access_log_state, access_requests),
    ),
    Migration(2, "routes, exit node and version of each device in a snapshot", _add_device_route_columns),
]
