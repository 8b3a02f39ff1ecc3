"""Scan-now requests: stored before the 202, claimed like due runs (a lease), deleted once their scan is stored."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update

from techscaniq.storage.protocols import ScanRequest
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import scan_requests as t


class SqlScanRequestRepository(SqlRepository):
    async def add(self, request: ScanRequest, requested_at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(t).values(
                id=request.id, config_id=request.config_id, organization_id=request.organization_id,
                requested_at=requested_at,
            ))

    async def claim(self, now: datetime, limit: int, lease_seconds: float, owner: str) -> list[ScanRequest]:
        due = or_(t.c.lease_until.is_(None), t.c.lease_until < now)
        async with self._engine.begin() as conn:
            candidates = (await conn.execute(
                select(t.c.id, t.c.config_id, t.c.organization_id)
                .where(due).order_by(t.c.requested_at).limit(limit).with_for_update(skip_locked=True)
            )).all()
            claimed = []
            for row in candidates:
                # Conditional: a replica that claimed it meanwhile keeps it.
                result = await conn.execute(
                    update(t).where(t.c.id == row.id, due)
                    .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
                )
                if result.rowcount:
                    claimed.append(ScanRequest(row.id, row.config_id, row.organization_id))
        return claimed

    async def done(self, request_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(t).where(t.c.id == request_id))

    async def release_leases(self, owner: str | None = None) -> int:
        return await self.release_leases_of(t, owner)

    async def pending(self) -> int:
        async with self._engine.connect() as conn:
            return len((await conn.execute(select(t.c.id))).all())
