"""Which consumer already handled which event: the idempotency ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from techscaniq.domain.common import utcnow
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import processed_events as t


class SqlProcessedEventRepository(SqlRepository):
    async def seen(self, consumer: str, event_id: str) -> bool:
        query = select(t.c.event_id).where(t.c.consumer == consumer, t.c.event_id == event_id)
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def prune(self, before: datetime) -> int:
        """Forget events handled before `before`: a redelivery comes within minutes, not weeks."""
        async with self._engine.begin() as conn:
            return (await conn.execute(delete(t).where(t.c.processed_at < before))).rowcount

    async def mark(self, consumer: str, event_id: str) -> None:
        statement = self.insert_ignoring_duplicates(t, ["consumer", "event_id"])
        async with self._engine.begin() as conn:
            await conn.execute(statement.values(consumer=consumer, event_id=event_id, processed_at=utcnow()))
