"""Silences and maintenance windows, shared by every replica."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select

from techscaniq.domain.silence import Silence
from techscaniq.storage.sql.base import SqlRepository, document, where_given
from techscaniq.storage.sql.tables import silences as t


class SqlSilenceRepository(SqlRepository):
    async def add(self, silence: Silence) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                self.insert_ignoring_duplicates(t, ["id"]).values(
                    id=silence.id, organization_id=silence.organization_id, config_id=silence.config_id,
                    ends_at=silence.ends_at, document=document(silence),
                )
            )

    async def remove(self, silence_id: str, organization_id: str | None = None) -> bool:
        query = delete(t).where(t.c.id == silence_id)
        if organization_id is not None:
            query = query.where(t.c.organization_id == organization_id)
        async with self._engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    async def list(self, organization_id: str | None = None) -> list[Silence]:
        query = where_given(select(t.c.document).order_by(t.c.id), (t.c.organization_id, organization_id))
        return await self.load_all(query, Silence)

    async def active(self, organization_id: str, config_id: str, at: datetime) -> Silence | None:
        """SQL narrows to this config's unexpired silences; the window rules (weekdays, local times) are
        the model's."""
        query = select(t.c.document).where(
            t.c.organization_id == organization_id,
            or_(t.c.config_id.is_(None), t.c.config_id == config_id),
            or_(t.c.ends_at.is_(None), t.c.ends_at > at),
        )
        return next((silence for silence in await self.load_all(query, Silence) if silence.active_at(at)), None)
