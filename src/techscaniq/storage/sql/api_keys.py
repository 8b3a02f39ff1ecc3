"""API keys created in the API: a name, a role, the sha256 of the secret, when last used, when revoked.
Every request with a key reads its row, so a revocation holds on every replica at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from techscaniq.accounts.models import ApiKey
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import api_keys as t


class SqlApiKeyRepository(SqlRepository):
    async def add(self, key: ApiKey, secret_hash: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(t).values(
                id=key.id, organization_id=key.organization_id, name=key.name[:200], role=key.role,
                secret_hash=secret_hash, created_by=key.created_by[:200], created_at=key.created_at))

    async def active(self, key_id: str) -> tuple[ApiKey, str] | None:
        """(key, secret hash) of an unrevoked key."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(t).where(t.c.id == key_id, t.c.revoked_at.is_(None)))).first()
        return (_key(row), row.secret_hash) if row is not None else None

    async def find(self, organization_id: str) -> list[ApiKey]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(t).where(t.c.organization_id == organization_id)
                                       .order_by(t.c.created_at))).all()
        return [_key(row) for row in rows]

    async def touch(self, key_id: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == key_id).values(last_used_at=now))

    async def revoke(self, key_id: str, organization_id: str, now: datetime) -> ApiKey | None:
        """Revoke the organization's key (idempotent); None when it has no such key."""
        async with self._engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == key_id, t.c.organization_id == organization_id,
                                               t.c.revoked_at.is_(None)).values(revoked_at=now))
            row = (await conn.execute(select(t).where(t.c.id == key_id,
                                                      t.c.organization_id == organization_id))).first()
        return _key(row) if row is not None else None


def _key(row: object) -> ApiKey:
    r = row._mapping  # type: ignore[attr-defined]
    return ApiKey(r["id"], r["organization_id"], r["name"], r["role"], r["created_by"], r["created_at"],
                  r["last_used_at"], r["revoked_at"])
