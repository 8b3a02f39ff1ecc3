"""DATABASE_URL and METRICS_DATABASE_URL naming one database (scripts/services.sh sets exactly that when only
DATABASE_URL is given): it starts and works as one database with one pool, the time series in the core schema's
table. It failed at start before: the metrics schema met the core's `performance_metrics` ("is not partitioned").
Real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.services import service_url

from techscaniq.settings import Settings
from techscaniq.storage.migrate_all import migrate_all
from techscaniq.storage.protocols import MetricPoint
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.tables import metadata

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_one_database_named_by_both_urls_starts_and_keeps_metrics(settings: Settings) -> None:
    url = service_url("DATABASE_URL")
    # The same database spelled another way: scheme, explicit default port, loopback by the other name.
    spelled_again = url.replace("postgresql://", "postgres://", 1).replace("127.0.0.1:", "localhost:", 1)
    same = settings.model_copy(update={"database_url": url, "metrics_database_url": spelled_again})
    assert same.separate_metrics_database_url is None
    other = settings.model_copy(update={"database_url": url, "metrics_database_url": url + "_metrics"})
    assert other.separate_metrics_database_url == url + "_metrics"  # another database stays its own store

    storage = SqlStorage(same)
    async with storage.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await storage.start()
    try:
        assert await storage.ping_metrics_database() is None  # one database: no second pool to report
        points = [MetricPoint("org-a", "c1", f"s{i}", "ttfb_ms", float(i), T0 + timedelta(minutes=i))
                  for i in range(3)]
        await storage.metrics.add(points)
        assert [p.value for p in await storage.metrics.series("c1", "ttfb_ms")] == [0.0, 1.0, 2.0]
        await storage.maintain()
    finally:
        await storage.close()
    lines = await migrate_all(same)
    assert lines == ["core schema (PostgreSQL): up to date",
                     "metrics: METRICS_DATABASE_URL names the core database; its performance_metrics table holds them"]
