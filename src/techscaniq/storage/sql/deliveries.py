"""The notification outbox: a delivery is stored before it is sent, and claimed before sending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from techscaniq.domain.alert import Delivery, DeliveryStatus
from techscaniq.storage.sql.base import SqlRepository, document, where_given
from techscaniq.storage.sql.tables import deliveries as t

_WAITING = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)


class SqlDeliveryRepository(SqlRepository):
    async def add_many(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        statement = self.insert_ignoring_duplicates(t, ["id"])
        async with self._engine.begin() as conn:
            await conn.execute(statement, [self._row(d) for d in deliveries])

    async def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        query = (
            select(t.c.document)
            .where(
                t.c.status.in_(_WAITING),
                t.c.next_attempt_at <= now,
                or_(t.c.lease_until.is_(None), t.c.lease_until < now),
            )
            .order_by(t.c.next_attempt_at)
            .limit(limit)
        )
        return await self.load_all(query, Delivery)

    async def claim(self, delivery_id: str, lease_until: datetime, now: datetime | None = None) -> bool:
        condition = [t.c.id == delivery_id, t.c.status.in_(_WAITING)]
        if now is not None:
            condition.append(or_(t.c.lease_until.is_(None), t.c.lease_until < now))
        async with self._engine.begin() as conn:
            result = await conn.execute(update(t).where(*condition).values(lease_until=lease_until))
        return bool(result.rowcount)

    async def update(self, delivery: Delivery) -> None:
        row = self._row(delivery)
        del row["id"]
        async with self._engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == delivery.id).values(**row, lease_until=None))

    async def get(self, delivery_id: str, organization_id: str | None = None) -> Delivery | None:
        query = where_given(select(t.c.document).where(t.c.id == delivery_id), (t.c.organization_id, organization_id))
        return await self.load_one(query, Delivery)

    async def release_leases(self) -> int:
        async with self._engine.begin() as conn:
            return (await conn.execute(update(t).where(t.c.lease_until.is_not(None)).values(lease_until=None))).rowcount

    async def list_for_alert(self, alert_id: str) -> list[Delivery]:
        return await self.load_all(
            select(t.c.document).where(t.c.alert_id == alert_id).order_by(t.c.created_at, t.c.id), Delivery
        )

    async def find(
        self, organization_id: str | None = None, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[Delivery]:
        query = select(t.c.document).order_by(t.c.created_at.desc(), t.c.id).limit(limit).offset(offset)
        return await self.load_all(
            where_given(query, (t.c.organization_id, organization_id), (t.c.status, status)), Delivery
        )

    @staticmethod
    def _expired(before: datetime) -> ColumnElement[bool]:
        return and_(t.c.status.not_in(_WAITING), t.c.created_at < before)  # one still to be sent stays

    async def expirable(self, before: datetime) -> int:
        return await self.count_where(t, self._expired(before))

    async def expire(self, before: datetime) -> int:
        """Delete deliveries created before `before` that are done (delivered, or given up on)."""
        return len(await self.delete_where(t, self._expired(before)))

    @staticmethod
    def _row(delivery: Delivery) -> dict[str, Any]:
        return {
            "id": delivery.id,
            "alert_id": delivery.alert_id,
            "organization_id": delivery.organization_id,
            "status": delivery.status.value,
            "next_attempt_at": delivery.next_attempt_at,
            "created_at": delivery.created_at,
            "document": document(delivery),
        }
