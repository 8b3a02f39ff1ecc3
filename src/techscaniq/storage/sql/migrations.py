"""Versioned schema migrations, applied at start and by `techscaniq migrate`.

Migration 1 is the core schema as database/migrations/001_monitoring_core_schema.sql writes it for
PostgreSQL; that file records itself in schema_migrations, so applying it by hand (as the deployment
guide does) and then starting the system never applies it twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, insert, inspect, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from techscaniq.domain.common import utcnow
from techscaniq.storage.sql import tables

log = logging.getLogger(__name__)

# pg_advisory lock key of schema changes (any constant; "TSIQ" in ASCII): replicas starting together on an
# empty database take turns instead of creating the same tables at once.
MIGRATION_LOCK = 0x54534951

CORE_TABLES = [
    tables.schema_migrations,
    tables.monitoring_configs,
    tables.scans,
    tables.scan_bodies,
    tables.performance_metrics,
    tables.changes,
    tables.alerts,
    tables.deliveries,
    tables.processed_events,
]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _core_schema(connection: Connection) -> None:
    tables.metadata.create_all(connection, tables=CORE_TABLES, checkfirst=True)


def _silences(connection: Connection) -> None:
    # Silences used to live in a JSON file per process; in the database every replica sees them.
    tables.silences.create(connection, checkfirst=True)


def _custom_fingerprints(connection: Connection) -> None:
    tables.custom_fingerprints.create(connection, checkfirst=True)


def _revoked_tokens(connection: Connection) -> None:
    tables.revoked_tokens.create(connection, checkfirst=True)


def _scan_requests(connection: Connection) -> None:
    tables.scan_requests.create(connection, checkfirst=True)


def _body_blobs(connection: Connection) -> None:
    tables.metadata.create_all(connection, tables=[tables.body_blobs, tables.scan_body_refs], checkfirst=True)


def _accounts(connection: Connection) -> None:
    tables.metadata.create_all(connection, tables=[tables.organizations, tables.users, tables.memberships,
                                                   tables.one_time_tokens], checkfirst=True)


def _sessions_keys_audit(connection: Connection) -> None:
    tables.metadata.create_all(connection, tables=[tables.sessions, tables.api_keys, tables.audit_log,
                                                   tables.sso_configs], checkfirst=True)


def _baselines_and_config_keyset(connection: Connection) -> None:
    tables.change_baselines.create(connection, checkfirst=True)
    for statement in tables.CONFIG_LISTING_INDEXES:
        connection.execute(text(statement))


def _scan_shapes(connection: Connection) -> None:
    # Scans stored before keep their whole document (shape NULL) and load as they are.
    tables.scan_shapes.create(connection, checkfirst=True)
    if "shape" not in {column["name"] for column in inspect(connection).get_columns("scans")}:
        kind = "BYTEA" if connection.dialect.name == "postgresql" else "BLOB"
        connection.execute(text(f"ALTER TABLE scans ADD COLUMN shape {kind}"))


def _disabled_patterns(connection: Connection) -> None:
    tables.custom_fingerprint_disabled.create(connection, checkfirst=True)


def _leased_configs_index(connection: Connection) -> None:
    connection.execute(text(tables.LEASED_CONFIGS_INDEX))


MIGRATIONS: list[Migration] = [
    Migration(1, "monitoring core schema", _core_schema),
    Migration(2, "silences and maintenance windows", _silences),
    Migration(3, "custom fingerprints per organization", _custom_fingerprints),
    Migration(4, "revoked API tokens", _revoked_tokens),
    Migration(5, "durable scan-now requests", _scan_requests),
    Migration(6, "content-addressed response bodies", _body_blobs),
    Migration(7, "accounts: users, organizations, memberships, one-time tokens", _accounts),
    Migration(8, "sign-in sessions, API keys, audit log, single sign-on", _sessions_keys_audit),
    Migration(9, "scans stored as a shape (once per distinct value) and a compact check", _scan_shapes),
    Migration(10, "change detection baselines; config listing keyset indexes", _baselines_and_config_keyset),
    Migration(11, "custom fingerprint patterns disabled over their budget, shared by replicas", _disabled_patterns),
    Migration(16, "an index of the leased configs, which each fair claim counts", _leased_configs_index),
]


async def migrate(engine: AsyncEngine) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied now."""
    async with engine.begin() as connection:
        return await connection.run_sync(_migrate_sync)


def _migrate_sync(connection: Connection) -> list[int]:
    if connection.dialect.name == "postgresql":
        # Held until this transaction ends; the next replica then finds every migration recorded.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    if not inspect(connection).has_table("schema_migrations"):
        tables.schema_migrations.create(connection)
    done = set(connection.execute(select(tables.schema_migrations.c.version)).scalars())
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        log.info("applying migration %s: %s", migration.version, migration.name)
        migration.apply(connection)
        connection.execute(
            insert(tables.schema_migrations).values(
                version=migration.version, name=migration.name, applied_at=utcnow()
            )
        )
        applied.append(migration.version)
    return applied


def core_schema_sql() -> str:
    """The PostgreSQL DDL of migration 1, as shipped in database/migrations/001_monitoring_core_schema.sql."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    parts = [
        "-- TechScanIQ core schema (migration 1). Generated by `techscaniq schema`; do not edit by hand.",
        "-- Apply with psql, asyncpg (see the deployment guide) or `techscaniq migrate`.",
        "",
    ]
    for table in CORE_TABLES:
        parts.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)).strip() + ";\n")
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            parts.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)).strip() + ";\n")
    parts.append(
        "INSERT INTO schema_migrations (version, name, applied_at) "
        "VALUES (1, 'monitoring core schema', now()) ON CONFLICT (version) DO NOTHING;\n"
    )
    return "\n".join(parts)
