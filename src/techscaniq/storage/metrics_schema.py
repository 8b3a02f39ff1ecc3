"""The metrics store on METRICS_DATABASE_URL: its schema and its bulk ingest.

The schema is database/migrations/002_timescale_metrics.sql, the file the deployment guide applies by hand
(TimescaleDB hypertables when the extension exists, native day partitions otherwise). Both writers skip rows
already stored (ON CONFLICT DO NOTHING), so a re-delivered scan stores nothing twice. Bulk loads go in with COPY,
which cannot skip duplicates itself, so it fills a session temp table first; COPY's fixed cost (temp table,
transaction, second statement) only pays off from a few thousand points (bench/bench_metrics_ingest.py), so a
scan's few dozen points go in as one INSERT ... SELECT FROM unnest(arrays) instead: one statement, one round trip."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from techscaniq.storage.protocols import MetricPoint

MIGRATION = Path(__file__).resolve().parents[3] / "database" / "migrations" / "002_timescale_metrics.sql"
# pg_advisory lock key of the metrics schema ("TSIM"): replicas starting together apply it one at a time.
METRICS_MIGRATION_LOCK = 0x5453494D
PERFORMANCE_COLUMNS = ("time", "organization_id", "config_id", "scan_id", "metric", "value")
COPY_THRESHOLD = 5_000  # points; below this one INSERT from arrays is faster than COPY (measured)
_INSERT_ARRAYS = (
    f"INSERT INTO performance_metrics ({', '.join(PERFORMANCE_COLUMNS)})"
    " SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[])"
    " ON CONFLICT DO NOTHING"
)


def plain_postgres_url(url: str) -> str:
    """asyncpg wants postgresql://; SQLAlchemy-style URLs name the driver too."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


async def apply_metrics_schema(url: str) -> str:
    """Apply 002_timescale_metrics.sql (idempotent) and run its maintenance once; returns a one-line summary."""
    if not MIGRATION.is_file():
        raise FileNotFoundError(f"metrics schema not found at {MIGRATION} (run from a full checkout or image)")
    conn = await asyncpg.connect(plain_postgres_url(url))
    try:
        # One replica at a time (a session lock: the file manages its own transactions).
        await conn.execute("SELECT pg_advisory_lock($1)", METRICS_MIGRATION_LOCK)
        try:
            await conn.execute(MIGRATION.read_text(encoding="utf-8"))
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", METRICS_MIGRATION_LOCK)
        timescale = await conn.fetchval("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'timescaledb')")
        maintenance = await conn.fetchval("SELECT metrics_maintenance()")
    finally:
        await conn.close()
    backend = "TimescaleDB hypertables" if timescale else "native day partitions"
    return f"metrics schema ({backend}): {maintenance}"


async def write_performance_metrics(conn: Any, points: Sequence[MetricPoint]) -> int:
    """Store points on an asyncpg connection (COPY for bulk loads); returns how many were new."""
    if len(points) >= COPY_THRESHOLD:
        return await copy_performance_metrics(conn, points)
    if not points:
        return 0
    columns = list(zip(*((p.time, p.organization_id, p.config_id, p.scan_id, p.metric, p.value) for p in points),
                       strict=True))
    status: str = await conn.execute(_INSERT_ARRAYS, *columns)
    return int(status.rsplit(" ", 1)[-1])  # "INSERT 0 <rows>"


async def copy_performance_metrics(conn: Any, points: Sequence[MetricPoint]) -> int:
    """Bulk-insert points on an asyncpg connection with COPY; returns how many were new."""
    if not points:
        return 0
    records = [(p.time, p.organization_id, p.config_id, p.scan_id, p.metric, p.value) for p in points]
    async with conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS performance_metrics_incoming "
            "(LIKE performance_metrics INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await conn.copy_records_to_table("performance_metrics_incoming", records=records, columns=PERFORMANCE_COLUMNS)
        status: str = await conn.execute(
            f"INSERT INTO performance_metrics ({', '.join(PERFORMANCE_COLUMNS)}) "
            f"SELECT {', '.join(PERFORMANCE_COLUMNS)} FROM performance_metrics_incoming ON CONFLICT DO NOTHING"
        )
    return int(status.rsplit(" ", 1)[-1])  # "INSERT 0 <rows>"
