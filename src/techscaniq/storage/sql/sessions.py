"""Dashboard sign-in sessions, by the sha256 of the cookie's value. A row lives until its absolute expiry,
its idle timeout, or sign-out (of this browser or everywhere)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from techscaniq.accounts.models import Session
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import sessions as t


class SqlSessionRepository(SqlRepository):
    async def add(self, session: Session) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(t).values(
                id_hash=session.id_hash, user_id=session.user_id, organization_id=session.organization_id,
                csrf_token=session.csrf_token, address=session.address[:100], created_at=session.created_at,
                last_seen_at=session.last_seen_at, expires_at=session.expires_at))

    async def get(self, id_hash: str) -> Session | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(t).where(t.c.id_hash == id_hash))).first()
        return None if row is None else _session(row)

    async def touch(self, id_hash: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id_hash == id_hash).values(last_seen_at=now))

    async def switch_organization(self, id_hash: str, organization_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id_hash == id_hash).values(organization_id=organization_id))

    async def delete(self, id_hash: str) -> bool:
        async with self._engine.begin() as conn:
            return bool((await conn.execute(delete(t).where(t.c.id_hash == id_hash))).rowcount)

    async def delete_of_user(self, user_id: str, organization_id: str | None = None) -> list[Session]:
        """Sign out everywhere (or in one organization): the sessions ended."""
        where = [t.c.user_id == user_id]
        if organization_id is not None:
            where.append(t.c.organization_id == organization_id)
        async with self._engine.begin() as conn:
            ended = [_session(row) for row in await conn.execute(select(t).where(*where))]
            await conn.execute(delete(t).where(*where))
        return ended

    async def of_user(self, user_id: str) -> list[Session]:
        async with self._engine.connect() as conn:
            return [_session(row) for row in await conn.execute(select(t).where(t.c.user_id == user_id))]

    async def prune(self, now: datetime, idle_before: datetime) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t).where((t.c.expires_at <= now) | (t.c.last_seen_at < idle_before)))
        return result.rowcount or 0


def _session(row: Any) -> Session:
    return Session(row.id_hash, row.user_id, row.organization_id, row.csrf_token, row.address, row.created_at,
                   row.last_seen_at, row.expires_at)
