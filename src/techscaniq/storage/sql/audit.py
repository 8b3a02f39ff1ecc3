"""The audit log: who did what, when, from where, per organization (newest first), pruned by retention."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select

from techscaniq.accounts.models import AuditEntry
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import audit_log as t


class SqlAuditRepository(SqlRepository):
    async def add(self, organization_id: str, at: datetime, actor: str, address: str, action: str, target: str,
                  outcome: int, details: dict[str, Any]) -> str:
        entry_id = uuid.uuid4().hex
        async with self._engine.begin() as conn:
            await conn.execute(insert(t).values(id=entry_id, organization_id=organization_id, at=at,
                                                actor=actor[:300], address=address[:100], action=action[:200],
                                                target=target[:500], outcome=outcome, details=details))
        return entry_id

    async def find(self, organization_id: str, *, since: datetime | None = None, until: datetime | None = None,
                   action: str | None = None, limit: int = 100, offset: int = 0,
                   after: AuditEntry | None = None) -> list[AuditEntry]:
        """Newest first. `after`: the last entry of the previous page (keyset: entries written meanwhile neither
        shift a page nor come twice, and a deep page costs what the first does)."""
        query = select(t).where(t.c.organization_id == organization_id)
        if after is not None:
            at = bindparam(None, after.at, type_=t.c.at.type)
            query = query.where(or_(t.c.at < at, and_(t.c.at == at, t.c.id > after.id)))
        if since is not None:
            query = query.where(t.c.at >= since)
        if until is not None:
            query = query.where(t.c.at < until)
        if action is not None:
            query = query.where(t.c.action == action)
        query = query.order_by(t.c.at.desc(), t.c.id).limit(limit).offset(offset)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [AuditEntry(r.id, r.organization_id, r.at, r.actor, r.address, r.action, r.target, r.outcome,
                           dict(r.details)) for r in rows]

    async def prune(self, before: datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t).where(t.c.at < before))
        return result.rowcount or 0
