"""Setup links, invitations and password resets, stored as the sha256 of their token; each works once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update

from techscaniq.accounts.models import OneTimeToken
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import one_time_tokens as t


class SqlOneTimeTokenRepository(SqlRepository):
    async def add(self, token_hash: str, purpose: str, now: datetime, *, expires_at: datetime | None = None,
                  organization_id: str | None = None, email: str | None = None, role: str | None = None,
                  created_by: str | None = None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(t).values(token_hash=token_hash, purpose=purpose, organization_id=organization_id,
                                                email=email, role=role, created_by=created_by, created_at=now,
                                                expires_at=expires_at))

    async def peek(self, token_hash: str, purpose: str, now: datetime) -> OneTimeToken | None:
        """The token if it is unused and unexpired, without using it."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(t).where(*_usable(token_hash, purpose, now)))).first()
        if row is None:
            return None
        return _token(row)

    async def use(self, token_hash: str, purpose: str, now: datetime) -> OneTimeToken | None:
        """Mark the token used and return it; None when it was used already, expired or never issued. One
        conditional UPDATE: of two requests racing with the same link (on any replicas), one wins."""
        found = await self.peek(token_hash, purpose, now)
        if found is None:
            return None
        async with self._engine.begin() as conn:
            result = await conn.execute(update(t).where(*_usable(token_hash, purpose, now)).values(used_at=now))
        return found if result.rowcount == 1 else None

    async def count_unused(self, purpose: str, now: datetime) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(t).where(
                t.c.purpose == purpose, t.c.used_at.is_(None),
                or_(t.c.expires_at.is_(None), t.c.expires_at > now)))).scalar_one())

    async def pending(self, organization_id: str, purpose: str, now: datetime) -> list[tuple[str, OneTimeToken]]:
        """An organization's unused, unexpired tokens of a purpose (its pending invitations) with their
        hashes, newest first."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(t).where(
                t.c.organization_id == organization_id, t.c.purpose == purpose, t.c.used_at.is_(None),
                or_(t.c.expires_at.is_(None), t.c.expires_at > now)).order_by(t.c.created_at.desc()))).all()
        return [(row.token_hash, _token(row)) for row in rows]

    async def revoke(self, token_hash: str, organization_id: str, purpose: str) -> bool:
        """Forget an unused token of the organization (a revoked invitation's link stops working)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t).where(t.c.token_hash == token_hash, t.c.purpose == purpose,
                                                        t.c.organization_id == organization_id,
                                                        t.c.used_at.is_(None)))
        return bool(result.rowcount)

    async def discard(self, purpose: str) -> int:
        """Forget every unused token of a purpose (a new setup link replaces the old one)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t).where(t.c.purpose == purpose, t.c.used_at.is_(None)))
        return result.rowcount or 0


def _usable(token_hash: str, purpose: str, now: datetime) -> list[ColumnElement[bool]]:
    return [t.c.token_hash == token_hash, t.c.purpose == purpose, t.c.used_at.is_(None),
            or_(t.c.expires_at.is_(None), t.c.expires_at > now)]


def _token(row: Any) -> OneTimeToken:
    return OneTimeToken(row.purpose, row.organization_id, row.email, row.role, row.created_by, row.created_at,
                        row.expires_at)
