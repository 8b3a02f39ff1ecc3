"""`techscaniq migrate`: the core schema (SQLite or PostgreSQL) and, when METRICS_DATABASE_URL is set,
the metrics schema (002_timescale_metrics.sql)."""

from __future__ import annotations

from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.migrations import migrate


async def migrate_all(settings: Settings) -> list[str]:
    storage = SqlStorage(settings)
    try:
        applied = await migrate(storage.engine)
    finally:
        await storage.close()
    where = "PostgreSQL" if settings.database_url else str(settings.sqlite_path)
    lines = [f"core schema ({where}): " + (f"applied {applied}" if applied else "up to date")]
    if url := settings.separate_metrics_database_url:
        from techscaniq.storage.metrics_schema import apply_metrics_schema

        lines.append(await apply_metrics_schema(url))
    elif settings.metrics_database_url:
        lines.append("metrics: METRICS_DATABASE_URL names the core database; its performance_metrics table holds them")
    return lines
