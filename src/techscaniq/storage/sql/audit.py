"""The audit log: who did what, when, from where, per organization (newest first), pruned by retention."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, literal, or_, select, tuple_

from techscaniq.accounts.models import AuditEntry
from techscaniq.storage.sql.base import SqlRepository, where_given
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
                   action: str | None = None, action_prefix: str | None = None, actor: str | None = None,
                   target: str | None = None, after: tuple[datetime, str] | None = None, limit: int = 100,
                   offset: int = 0) -> list[AuditEntry]:
        """Newest first, in (at, id) descending order. `action_prefix`: actions starting with it (any case), or whose
        route does ("/api/v1/configs" finds every method on configs). `after`: the (at, id) of the previous
        page's last entry (keyset: a page costs the same however deep, and entries recorded meanwhile never
        make one come twice)."""
        query = where_given(select(t).where(t.c.organization_id == organization_id),
                            (t.c.action, action), (t.c.actor, actor), (t.c.target, target))
        if since is not None:
            query = query.where(t.c.at >= since)
        if until is not None:
            query = query.where(t.c.at < until)
        if action_prefix is not None:
            escaped = action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(or_(t.c.action.ilike(f"{escaped}%", escape="\\"),
                                    t.c.action.ilike(f"% {escaped}%", escape="\\")))
        if after is not None:
            at = bindparam(None, after[0], type_=t.c.at.type)
            query = query.where(tuple_(t.c.at, t.c.id) < tuple_(at, literal(after[1])))
        query = query.order_by(t.c.at.desc(), t.c.id.desc()).limit(limit).offset(offset)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [AuditEntry(r.id, r.organization_id, r.at, r.actor, r.address, r.action, r.target, r.outcome,
                           dict(r.details)) for r in rows]

    async def prune(self, before: datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t).where(t.c.at < before))
        return result.rowcount or 0
