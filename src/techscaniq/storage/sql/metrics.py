"""Metric time series (one point per config, metric and scan) in the core database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from techscaniq.storage.protocols import MetricPoint
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import performance_metrics as t


class SqlMetricRepository(SqlRepository):
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
        return [
            MetricPoint(
                organization_id=r.organization_id,
                config_id=r.config_id,
                scan_id=r.scan_id,
                metric=r.metric,
                value=r.value,
                time=r.time,
            )
            for r in rows
        ]
