"""Alerts and their lifecycle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, update

from techscaniq.domain.alert import Alert, AlertStatus
from techscaniq.storage.sql.base import SqlRepository, document, where_given
from techscaniq.storage.sql.tables import alerts as t
from techscaniq.storage.sql.tables import deliveries


class SqlAlertRepository(SqlRepository):
    async def add(self, alert: Alert) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(self.insert_ignoring_duplicates(t, ["id"]).values(**self._row(alert)))
        return bool(result.rowcount)

    async def get(self, alert_id: str, organization_id: str | None = None) -> Alert | None:
        query = where_given(select(t.c.document).where(t.c.id == alert_id), (t.c.organization_id, organization_id))
        return await self.load_one(query, Alert)

    async def update(self, alert: Alert) -> None:
        row = self._row(alert)
        del row["id"]
        async with self._engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == alert.id).values(**row))

    async def find_open(self, dedupe_key: str) -> Alert | None:
        query = (
            select(t.c.document)
            .where(t.c.dedupe_key == dedupe_key, t.c.status != AlertStatus.RESOLVED.value)
            .order_by(t.c.triggered_at.desc())
            .limit(1)
        )
        return await self.load_one(query, Alert)

    async def last_notified(self, dedupe_key: str) -> Alert | None:
        query = (
            select(t.c.document)
            .where(t.c.dedupe_key == dedupe_key, t.c.notified.is_(True))
            .order_by(t.c.triggered_at.desc())
            .limit(1)
        )
        return await self.load_one(query, Alert)

    async def page(self, after: str | None = None, limit: int = 1000, since: datetime | None = None
                   ) -> list[Alert]:
        return await self.load_page(t, Alert, after, limit, since, "triggered_at")

    async def find(
        self,
        organization_id: str | None = None,
        config_id: str | None = None,
        status: AlertStatus | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Alert]:
        query = where_given(
            select(t.c.document).order_by(t.c.triggered_at.desc(), t.c.id).limit(limit).offset(offset),
            (t.c.organization_id, organization_id), (t.c.config_id, config_id),
            (t.c.status, status.value if status else None),
        )
        if since is not None:
            query = query.where(t.c.triggered_at >= since)
        return await self.load_all(query, Alert)

    @staticmethod
    def _expired(before: datetime) -> ColumnElement[bool]:
        # Only resolved alerts: one still open is current whatever its age (and deduplicates what fires again).
        return and_(t.c.status == AlertStatus.RESOLVED.value, func.coalesce(t.c.resolved_at, t.c.triggered_at) < before)

    async def expirable(self, before: datetime) -> int:
        return await self.count_where(t, self._expired(before))

    async def expire(self, before: datetime) -> int:
        """Delete alerts resolved before `before`, with their deliveries. Returns alerts deleted."""
        ids = await self.delete_where(t, self._expired(before))
        async with self._engine.begin() as conn:
            for start in range(0, len(ids), 2000):
                await conn.execute(delete(deliveries).where(deliveries.c.alert_id.in_(ids[start:start + 2000])))
        return len(ids)

    @staticmethod
    def _row(alert: Alert) -> dict[str, Any]:
        return {
            "id": alert.id,
            "organization_id": alert.organization_id,
            "config_id": alert.config_id,
            "rule_id": alert.rule_id,
            "dedupe_key": alert.dedupe_key,
            "status": alert.status.value,
            "notified": not (alert.silenced or alert.throttled),
            "triggered_at": alert.triggered_at,
            "resolved_at": alert.resolved_at,
            "document": document(alert),
        }
