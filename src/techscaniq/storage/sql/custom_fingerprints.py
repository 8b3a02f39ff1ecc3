"""Each organization's own fingerprints (Wappalyzer technologies.json), shared by every replica."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import custom_fingerprints as t


class SqlCustomFingerprintRepository(SqlRepository):
    async def put(self, organization_id: str, technologies: dict[str, Any], at: datetime) -> None:
        """Replace the organization's set ({} removes it)."""
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

    async def changed_since(self, since: datetime | None) -> list[tuple[str, dict[str, Any], datetime]]:
        """(organization, technologies, updated_at) of every set changed after `since` (all when None)."""
        query = select(t.c.organization_id, t.c.document, t.c.updated_at).order_by(t.c.updated_at)
        if since is not None:
            query = query.where(t.c.updated_at > since)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(row.organization_id, dict(row.document), row.updated_at) for row in rows]
