"""The shipped PostgreSQL schema file is exactly what the code's migration 1 creates."""

from __future__ import annotations

from pathlib import Path

from techscaniq.storage.sql.migrations import core_schema_sql

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "database" / "migrations" / "001_monitoring_core_schema.sql"


def test_001_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == core_schema_sql(), (
        "database/migrations/001_monitoring_core_schema.sql is stale: run `techscaniq schema > "
        "database/migrations/001_monitoring_core_schema.sql`"
    )
