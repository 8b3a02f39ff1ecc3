"""The metrics schema (database/migrations/002_timescale_metrics.sql) on the real PostgreSQL of
METRICS_DATABASE_URL (scripts/services.sh starts one; in CI its absence is a failure, not a skip).
Each test gets a fresh database, applied exactly as the deployment guide's snippet does."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from techscaniq.storage.metrics_schema import apply_metrics_schema, copy_performance_metrics
from techscaniq.storage.protocols import MetricPoint

pytestmark = pytest.mark.services
Apply = Callable[[str], Awaitable[None]]
ROOT = Path(__file__).resolve().parents[2]
# The guide's maintenance command, verbatim.
GUIDE_MAINTENANCE = """
SELECT drop_chunks('performance_metrics', INTERVAL '90 days');
SELECT drop_chunks('system_metrics', INTERVAL '30 days');
"""


@pytest.fixture
def apply_like_the_guide(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Awaitable[None]]:
    """The guide's "Apply TimescaleDB schema" step, verbatim, run from the project root."""

    async def apply(url: str) -> None:
        monkeypatch.chdir(ROOT)
        monkeypatch.setenv("METRICS_DATABASE_URL", url)
        conn = await asyncpg.connect(os.getenv('METRICS_DATABASE_URL'))

        with open('database/migrations/002_timescale_metrics.sql', 'r') as f:  # noqa: UP015, ASYNC230 - as the guide writes it
            await conn.execute(f.read())

        await conn.close()

    return apply


def point(age: timedelta, scan: str = "scan-1", metric: str = "load_time_ms", value: float = 1.0) -> MetricPoint:
    return MetricPoint("org-1", "cfg-1", scan, metric, value, datetime.now(UTC) - age)


async def test_the_guides_drop_chunks_keeps_recent_data_and_drops_old_data(
    metrics_url: str, apply_like_the_guide: Apply
) -> None:
    await apply_like_the_guide(metrics_url)
    await apply_like_the_guide(metrics_url)  # idempotent: a second apply changes nothing and fails nothing
    conn = await asyncpg.connect(metrics_url)
    try:
        assert not await conn.fetchval("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'timescaledb')")
        # Day partitions for the last 100 days; older rows land in the DEFAULT partition. Both must be trimmed.
        await conn.execute("SELECT create_metric_partitions('performance_metrics', 0, 100)")
        await conn.execute("SELECT create_metric_partitions('system_metrics', 0, 35)")
        days = {"120d": 120, "95d": 95, "89d": 89, "10d": 10, "now": 0, "in 20d": -20}
        await copy_performance_metrics(
            conn, [point(timedelta(days=age), scan=label) for label, age in days.items()]
        )
        await conn.executemany(
            "INSERT INTO system_metrics (time, instance_id, metric, value) VALUES (now() - $1::interval, 'r1', $2, 1)",
            [(timedelta(days=age), label) for label, age in {"40d": 40, "31d": 31, "29d": 29, "1d": 1}.items()],
        )

        await conn.execute(GUIDE_MAINTENANCE)

        kept = {r["scan_id"] for r in await conn.fetch("SELECT scan_id FROM performance_metrics")}
        assert kept == {"89d", "10d", "now", "in 20d"}
        kept = {r["metric"] for r in await conn.fetch("SELECT metric FROM system_metrics")}
        assert kept == {"29d", "1d"}
        # Whole old partitions are gone (not just emptied), as TimescaleDB drops whole chunks.
        oldest = await conn.fetchval(
            "SELECT min(c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'performance_metrics'::regclass AND c.relname <> 'performance_metrics_default'"
        )
        assert oldest >= "performance_metrics_p" + (datetime.now(UTC) - timedelta(days=91)).strftime("%Y%m%d")
    finally:
        await conn.close()


async def test_copy_ingest_stores_a_redelivered_scan_once(metrics_url: str, apply_like_the_guide: Apply) -> None:
    await apply_like_the_guide(metrics_url)
    conn = await asyncpg.connect(metrics_url)
    try:
        scan = [point(timedelta(minutes=1), metric=m, value=v) for m, v in [("ttfb_ms", 80.0), ("load_time_ms", 950.5)]]
        assert await copy_performance_metrics(conn, scan) == 2
        assert await copy_performance_metrics(conn, scan) == 0  # the same scan again: nothing new
        rows = await conn.fetch("SELECT metric, value FROM performance_metrics ORDER BY metric")
        assert [(r["metric"], r["value"]) for r in rows] == [("load_time_ms", 950.5), ("ttfb_ms", 80.0)]
    finally:
        await conn.close()


async def test_rows_without_a_partition_move_into_it_when_maintenance_creates_it(
    metrics_url: str, apply_like_the_guide: Apply
) -> None:
    await apply_like_the_guide(metrics_url)
    conn = await asyncpg.connect(metrics_url)
    try:
        await copy_performance_metrics(conn, [point(timedelta(days=-12), scan="future")])
        where = "SELECT tableoid::regclass::text FROM performance_metrics WHERE scan_id = 'future'"
        assert await conn.fetchval(where) == "performance_metrics_default"

        assert await conn.fetchval("SELECT create_metric_partitions('performance_metrics', 14)") == 7
        day = (datetime.now(UTC) + timedelta(days=12)).strftime("%Y%m%d")
        assert await conn.fetchval(where) == f"performance_metrics_p{day}"
        assert await conn.fetchval("SELECT metrics_maintenance()") == "0 partitions created, 0 dropped"
    finally:
        await conn.close()


async def test_apply_metrics_schema_reports_the_backend(metrics_url: str) -> None:
    summary = await apply_metrics_schema(metrics_url.replace("postgresql://", "postgresql+asyncpg://"))
    assert summary.startswith("metrics schema (native day partitions): ")


async def test_drop_chunks_on_a_table_that_is_not_partitioned_says_so(
    metrics_url: str, apply_like_the_guide: Apply
) -> None:
    await apply_like_the_guide(metrics_url)
    conn = await asyncpg.connect(metrics_url)
    try:
        await conn.execute("CREATE TABLE plain_table (time timestamptz)")
        with pytest.raises(asyncpg.PostgresError, match="plain_table is not partitioned by time"):
            await conn.execute("SELECT drop_chunks('plain_table', INTERVAL '1 day')")
    finally:
        await conn.close()
