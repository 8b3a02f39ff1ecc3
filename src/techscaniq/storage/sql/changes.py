"""Detected changes. The dedupe key makes storing a scan's changes twice a no-op."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.storage.sql.base import SqlRepository, document, where_given
from techscaniq.storage.sql.tables import changes as t


class SqlChangeRepository(SqlRepository):
    async def add_many(self, changes: list[Change]) -> list[Change]:
        stored = []
        statement = self.insert_ignoring_duplicates(t, ["dedupe_key"])
        async with self._engine.begin() as conn:
            for change in changes:
                result = await conn.execute(
                    statement.values(
                        id=change.id,
                        dedupe_key=change.dedupe_key,
                        organization_id=change.organization_id,
                        config_id=change.config_id,
                        scan_id=change.scan_id,
                        type=change.type.value,
                        change_type=change.change_type,
                        subject=change.subject,
                        impact_rank=change.impact.rank,
                        data_change=change.data_change,
                        false_positive=change.false_positive,
                        detected_at=change.detected_at,
                        document=document(change),
                    )
                )
                if result.rowcount:
                    stored.append(change)
        return stored

    async def get(self, change_id: str, organization_id: str | None = None) -> Change | None:
        query = where_given(select(t.c.document).where(t.c.id == change_id), (t.c.organization_id, organization_id))
        return await self.load_one(query, Change)

    async def page(self, after: str | None = None, limit: int = 1000, since: datetime | None = None
                   ) -> list[Change]:
        return await self.load_page(t, Change, after, limit, since, "detected_at")

    async def find(
        self,
        organization_id: str | None = None,
        config_id: str | None = None,
        kind: ChangeKind | None = None,
        min_impact: Impact | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        scan_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Change]:
        query = where_given(
            select(t.c.document).order_by(t.c.detected_at.desc(), t.c.id).limit(limit).offset(offset),
            (t.c.organization_id, organization_id), (t.c.config_id, config_id),
            (t.c.type, kind.value if kind else None), (t.c.scan_id, scan_id),
        )
        if min_impact is not None:
            query = query.where(t.c.impact_rank >= min_impact.rank)
        if since is not None:
            query = query.where(t.c.detected_at >= since)
        if until is not None:
            query = query.where(t.c.detected_at < until)
        return await self.load_all(query, Change)

    async def mark_false_positive(self, change_id: str, organization_id: str | None, value: bool = True) -> bool:
        change = await self.get(change_id, organization_id)
        if change is None:
            return False
        change.false_positive = value
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t).where(t.c.id == change_id).values(false_positive=value, document=document(change))
            )
        return True

    async def count(self, organization_id: str | None = None, false_positive: bool | None = None) -> int:
        query = select(func.count()).select_from(t)
        if organization_id is not None:
            query = query.where(t.c.organization_id == organization_id)
        if false_positive is not None:
            query = query.where(t.c.false_positive.is_(false_positive))
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def expirable(self, before: datetime) -> int:
        return await self.count_where(t, t.c.detected_at < before)

    async def expire(self, before: datetime) -> int:
        """Delete changes detected before `before` (their scans are then no longer kept as evidence)."""
        return len(await self.delete_where(t, t.c.detected_at < before))
