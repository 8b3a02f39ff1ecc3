"""Each organization's own fingerprints (Wappalyzer technologies.json), shared by every replica, and the
patterns of them disabled for going over their time budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import custom_fingerprint_disabled as d
from techscaniq.storage.sql.tables import custom_fingerprints as t


@dataclass(frozen=True)
class DisabledPattern:
    """One pattern of an organization's set (the set stored at `set_version`) that no longer runs, and why."""

    organization_id: str
    pattern_id: str
    set_version: datetime
    technology: str
    source: str
    key: str | None
    pattern: str
    reason: str
    disabled_at: datetime


class SqlCustomFingerprintRepository(SqlRepository):
    async def put(self, organization_id: str, technologies: dict[str, Any], at: datetime) -> None:
        """Replace the organization's set ({} removes it), which enables every pattern again."""
        async with self._engine.begin() as conn:
            updated = await conn.execute(
                update(t).where(t.c.organization_id == organization_id).values(document=technologies, updated_at=at)
            )
            if not updated.rowcount:
                await conn.execute(
                    self.insert_ignoring_duplicates(t, ["organization_id"]).values(
                        organization_id=organization_id, document=technologies, updated_at=at
                    )
                )
            await conn.execute(delete(d).where(d.c.organization_id == organization_id))

    async def changed_since(self, since: datetime | None) -> list[tuple[str, dict[str, Any], datetime]]:
        """(organization, technologies, updated_at) of every set changed after `since` (all when None)."""
        query = select(t.c.organization_id, t.c.document, t.c.updated_at).order_by(t.c.updated_at)
        if since is not None:
            query = query.where(t.c.updated_at > since)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(row.organization_id, dict(row.document), row.updated_at) for row in rows]

    async def disable(self, patterns: list[DisabledPattern]) -> None:
        """Record patterns as disabled (a pattern already recorded keeps its first reason and time)."""
        if not patterns:
            return
        rows = [{field: getattr(p, field) for field in DisabledPattern.__dataclass_fields__} for p in patterns]
        async with self._engine.begin() as conn:
            await conn.execute(self.insert_ignoring_duplicates(d, ["organization_id", "pattern_id"]), rows)

    async def disabled(self, organization_id: str | None = None) -> list[DisabledPattern]:
        """The disabled patterns of each organization's current set (of one organization's when given). A row
        found in a set replaced since (by a replica that had not seen the new set yet) is left out."""
        query = (
            select(d)
            .join(t, (t.c.organization_id == d.c.organization_id) & (t.c.updated_at == d.c.set_version))
            .order_by(d.c.organization_id, d.c.disabled_at, d.c.pattern_id)
        )
        if organization_id is not None:
            query = query.where(d.c.organization_id == organization_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [DisabledPattern(**row._mapping) for row in rows]
