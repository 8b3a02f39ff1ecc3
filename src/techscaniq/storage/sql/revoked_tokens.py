"""Revoked JWTs (by `jti`), shared by every replica; a row lives until the token would have expired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import revoked_tokens as t


class SqlRevokedTokenRepository(SqlRepository):
    async def add(self, jti: str, organization_id: str, revoked_at: datetime, expires_at: datetime,
                  reason: str = "") -> None:
        """Idempotent: revoking a token twice keeps the first record."""
        async with self._engine.begin() as conn:
            await conn.execute(
                self.insert_ignoring_duplicates(t, ["jti"]).values(
                    jti=jti, organization_id=organization_id, revoked_at=revoked_at, expires_at=expires_at,
                    reason=reason[:500],
                )
            )

    async def active(self, now: datetime) -> set[tuple[str, str]]:
        """(organization, jti) of every revocation whose token has not expired yet."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(t.c.organization_id, t.c.jti).where(t.c.expires_at > now))).all()
        return {(row.organization_id, row.jti) for row in rows}

    async def prune(self, now: datetime) -> int:
        """Forget revocations of tokens that have expired by now; returns how many."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t).where(t.c.expires_at <= now))
        return result.rowcount or 0
