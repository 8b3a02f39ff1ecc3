"""The revoked-token store on SQLite and PostgreSQL: idempotent revocation, expiry, pruning, migration 4."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.tables import schema_migrations

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_revocations_are_idempotent_expire_with_their_token_and_are_pruned(storage: SqlStorage) -> None:
    tokens = storage.revoked_tokens
    await tokens.add("jti-live", "org-a", T0, T0 + timedelta(hours=1), "leaked in a log")
    await tokens.add("jti-live", "org-a", T0 + timedelta(minutes=5), T0 + timedelta(hours=9), "again")  # no error
    await tokens.add("jti-old", "org-b", T0 - timedelta(hours=2), T0 - timedelta(minutes=1))
    assert await tokens.active(T0) == {("org-a", "jti-live")}
    assert await tokens.active(T0 + timedelta(hours=2)) == set()  # the first record's expiry is kept
    assert await tokens.prune(T0) == 1
    assert await tokens.prune(T0) == 0
    assert await tokens.active(T0 - timedelta(hours=1)) == {("org-a", "jti-live")}  # only the expired one went
    async with storage.engine.connect() as conn:
        versions = set((await conn.execute(select(schema_migrations.c.version))).scalars())
    assert 4 in versions
