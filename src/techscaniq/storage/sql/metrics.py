"""Metric time series in the core database: packed in each scan's row (see scans.py), and the rows of
performance_metrics, one point per config, metric and scan (points stored before, or added on their own)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from techscaniq.domain.scan import ScanResult
from techscaniq.storage.protocols import MetricPoint
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.scans import SqlScanRepository
from techscaniq.storage.sql.tables import performance_metrics as t


class SqlMetricRepository(SqlRepository):
    def __init__(self, engine: AsyncEngine, scans: SqlScanRepository) -> None:
        super().__init__(engine)
        self._scans = scans

    async def record(self, scan: ScanResult) -> None:
        """Nothing to write: the scan's row carries its metrics (18 rows a check was most of what it cost)."""

    async def add(self, points: list[MetricPoint]) -> None:
        if not points:
            return
        rows = [
            {
                "time": p.time,
                "organization_id": p.organization_id,
                "config_id": p.config_id,
                "scan_id": p.scan_id,
                "metric": p.metric,
                "value": p.value,
            }
            for p in points
        ]
        statement = self.insert_ignoring_duplicates(t, ["config_id", "metric", "time", "scan_id"])
        async with self._engine.begin() as conn:
            await conn.execute(statement, rows)

    async def prune(self, before: datetime) -> int:
        async with self._engine.begin() as conn:
            return (await conn.execute(delete(t).where(t.c.time < before))).rowcount

    async def series(
        self,
        config_id: str,
        metric: str,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10_000,
    ) -> list[MetricPoint]:
        query = select(t).where(t.c.config_id == config_id, t.c.metric == metric).order_by(t.c.time).limit(limit)
        if since is not None:
            query = query.where(t.c.time >= since)
        if until is not None:
            query = query.where(t.c.time < until)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        stored = [MetricPoint(r.organization_id, r.config_id, r.scan_id, r.metric, r.value, r.time) for r in rows]
        as_rows = {point.scan_id for point in stored}  # a scan's point added as a row as well counts once
        packed = [point for point in await self._scans.metric_points(config_id, metric, since, until, limit)
                  if point.scan_id not in as_rows]
        return sorted(stored + packed, key=lambda point: point.time)[:limit]
