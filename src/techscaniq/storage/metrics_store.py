"""MetricRepository on METRICS_DATABASE_URL: the time series live in their own database (TimescaleDB hypertables
or native day partitions, database/migrations/002_timescale_metrics.sql); bulk loads are written with COPY.

Used instead of the core database's metrics table when METRICS_DATABASE_URL is set. `maintain()` creates the
coming days' partitions and applies the retention; run it at start and hourly (cheap when there is nothing to do)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import asyncpg

from techscaniq.domain.scan import ScanResult
from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import plain_postgres_url, write_performance_metrics
from techscaniq.storage.protocols import MetricPoint, metric_points

log = logging.getLogger(__name__)


class MetricsStoreRepository:
    def __init__(self, url: str, min_size: int = 1, max_size: int = 10) -> None:
        self._url = plain_postgres_url(url)
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MetricsStoreRepository:
        if not (url := settings.separate_metrics_database_url):
            raise ValueError("METRICS_DATABASE_URL is not set (or names the core database)")
        return cls(url, settings.database_pool_min_size, settings.database_pool_max_size)

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._url, min_size=self._min_size, max_size=self._max_size, reset=_keep_session
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(5):
                async with self._acquire() as conn:
                    await conn.fetchval("SELECT 1")
        except Exception as exc:  # any driver error or the timeout means "down" for health checks
            log.warning("metrics database ping failed: %s", exc)
            return False
        return True

    async def add(self, points: list[MetricPoint]) -> None:
        async with self._acquire() as conn:
            await write_performance_metrics(conn, points)

    async def record(self, scan: ScanResult) -> None:
        await self.add(metric_points(scan))

    async def series(
        self, config_id: str, metric: str, since: datetime | None = None, until: datetime | None = None,
        limit: int = 10_000,
    ) -> list[MetricPoint]:
        """Oldest first."""
        async with self._acquire() as conn:
            rows = await conn.fetch(
                "SELECT time, organization_id, config_id, scan_id, metric, value FROM performance_metrics"
                " WHERE config_id = $1 AND metric = $2"
                " AND ($3::timestamptz IS NULL OR time >= $3) AND ($4::timestamptz IS NULL OR time < $4)"
                " ORDER BY time LIMIT $5",
                config_id, metric, since, until, limit,
            )
        return [MetricPoint(r["organization_id"], r["config_id"], r["scan_id"], r["metric"], r["value"], r["time"])
                for r in rows]

    async def maintain(self) -> str:
        async with self._acquire() as conn:
            summary: str = await conn.fetchval("SELECT metrics_maintenance()")
        return summary

    def _acquire(self) -> Any:
        if self._pool is None:
            raise RuntimeError("the metrics store is not started")
        return self._pool.acquire()


async def _keep_session(conn: Any) -> None:
    """Pool release without asyncpg's default reset round trip: this repository changes no session state
    (its COPY temp table empties itself at commit and is meant to be reused)."""
