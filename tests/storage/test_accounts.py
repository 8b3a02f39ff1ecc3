"""The accounts store on SQLite and PostgreSQL (migrations 7 and 8): users, organizations, memberships with
roles, one-time tokens that work once, sessions, API keys, the audit log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from techscaniq.accounts.models import ApiKey, Session
from techscaniq.accounts.secrets import hash_password, password_matches
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.accounts import DuplicateError
from techscaniq.storage.sql.tables import schema_migrations

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_people_belong_to_several_organizations_with_a_role_in_each(storage: SqlStorage) -> None:
    accounts = storage.accounts
    assert await accounts.count_users() == 0
    password_hash = await hash_password("correct horse battery")
    assert password_hash.startswith("$argon2id$")
    alice = await accounts.add_user("Alice@Example.COM", password_hash, T0, "Alice")
    with pytest.raises(DuplicateError, match=r"alice@example\.com"):
        await accounts.add_user("alice@example.com", None, T0)
    found = await accounts.user_by_email("ALICE@example.com")
    assert found is not None and found.id == alice.id
    assert await password_matches(found.password_hash, "correct horse battery")
    assert not await password_matches(found.password_hash, "wrong horse battery")
    await accounts.add_organization("acme", "Acme", T0)
    await accounts.add_organization("zeta", "Zeta Corp", T0)
    with pytest.raises(DuplicateError, match="acme"):
        await accounts.add_organization("acme", "Again", T0)
    await accounts.set_membership(alice.id, "zeta", "viewer", T0)
    await accounts.set_membership(alice.id, "acme", "owner", T0)
    await accounts.set_membership(alice.id, "zeta", "editor", T0)  # a role change, not a second membership
    assert [(m.organization_id, m.organization_name, m.role) for m in await accounts.memberships_of(alice.id)] == [
        ("acme", "Acme", "owner"), ("zeta", "Zeta Corp", "editor")]
    assert await accounts.count_role("acme", "owner") == 1
    assert [(user.email, role) for user, role in await accounts.members("zeta")] == [("alice@example.com", "editor")]
    assert await accounts.remove_membership(alice.id, "zeta")
    assert await accounts.membership(alice.id, "zeta") is None
    async with storage.engine.connect() as conn:
        versions = set((await conn.execute(select(schema_migrations.c.version))).scalars())
    assert {7, 8} <= versions


async def test_failed_sign_ins_lock_the_account_after_the_limit(storage: SqlStorage) -> None:
    user = await storage.accounts.add_user("bob@example.com", None, T0)
    until = T0 + timedelta(minutes=15)
    counts = [await storage.accounts.record_failed_sign_in(user.id, 3, until) for _ in range(3)]
    assert counts == [1, 2, 3]
    locked = await storage.accounts.user(user.id)
    assert locked is not None and locked.locked_until == until and locked.failed_sign_ins == 0
    await storage.accounts.clear_failed_sign_ins(user.id)
    cleared = await storage.accounts.user(user.id)
    assert cleared is not None and cleared.locked_until is None


async def test_a_one_time_token_works_once_even_when_two_requests_race(storage: SqlStorage) -> None:
    tokens = storage.one_time_tokens
    await tokens.add("h-setup", "setup", T0)
    await tokens.add("h-invite", "invite", T0, expires_at=T0 + timedelta(days=7), organization_id="acme",
                     email="carol@example.com", role="editor", created_by="user:alice@example.com")
    assert await tokens.use("h-setup", "invite", T0) is None  # the purpose is part of the token
    results = await asyncio.gather(*(tokens.use("h-setup", "setup", T0) for _ in range(5)))
    assert sum(result is not None for result in results) == 1
    assert await tokens.use("h-setup", "setup", T0) is None
    assert await tokens.use("h-invite", "invite", T0 + timedelta(days=8)) is None  # expired
    invite = await tokens.use("h-invite", "invite", T0 + timedelta(days=1))
    assert invite is not None and (invite.organization_id, invite.email, invite.role) == (
        "acme", "carol@example.com", "editor")


async def test_sessions_keys_and_audit_entries(storage: SqlStorage) -> None:
    session = Session("sid-hash", "u1", "acme", "csrf", "127.0.0.1", T0, T0, T0 + timedelta(hours=24))
    await storage.sessions.add(session)
    await storage.sessions.add(Session("sid-2", "u1", "acme", "c2", "", T0, T0, T0 + timedelta(hours=24)))
    assert await storage.sessions.get("sid-hash") == session
    await storage.sessions.switch_organization("sid-hash", "zeta")
    switched = await storage.sessions.get("sid-hash")
    assert switched is not None and switched.organization_id == "zeta"
    assert sorted(s.id_hash for s in await storage.sessions.delete_of_user("u1")) == ["sid-2", "sid-hash"]
    assert await storage.sessions.get("sid-2") is None

    key = ApiKey("k1", "acme", "deploy bot", "editor", "user:alice@example.com", T0)
    await storage.api_keys.add(key, "secret-hash")
    assert await storage.api_keys.active("k1") == (key, "secret-hash")
    assert await storage.api_keys.revoke("k1", "other-org", T0) is None  # not another organization's key
    revoked = await storage.api_keys.revoke("k1", "acme", T0 + timedelta(hours=1))
    assert revoked is not None and revoked.revoked_at == T0 + timedelta(hours=1)
    assert await storage.api_keys.active("k1") is None

    for minute in range(3):
        await storage.audit.add("acme", T0 + timedelta(minutes=minute), "user:alice@example.com", "127.0.0.1",
                                f"action-{minute}", "configs/c1", 200, {"changed": {"name": "x"}})
    entries = await storage.audit.find("acme")
    assert [entry.action for entry in entries] == ["action-2", "action-1", "action-0"]
    assert entries[0].details == {"changed": {"name": "x"}}
    assert await storage.audit.find("other-org") == []
    first_page = await storage.audit.find("acme", limit=2)
    await storage.audit.add("acme", T0 + timedelta(hours=1), "user:bob@example.com", "127.0.0.1", "newer", "x", 200,
                            {})  # written between two pages of an export: OFFSET would repeat action-1
    rest = await storage.audit.find("acme", limit=2, after=(first_page[-1].at, first_page[-1].id))
    assert [entry.action for entry in first_page + rest] == ["action-2", "action-1", "action-0"]
    assert await storage.audit.prune(T0 + timedelta(minutes=1)) == 1
    assert len(await storage.audit.find("acme")) == 3


async def test_audit_filters_and_keyset_pages_and_pending_invitations(storage: SqlStorage) -> None:
    """The queries behind the audit log's filters (the same answers on both databases: the prefix in any case,
    LIKE's wildcards as plain text, (at, id) keyset order with ties) and the pending invitations."""
    for minute, action in enumerate(["POST /api/v1/configs", "DELETE /api/v1/configs/{config_id}", "PUT /api/v1/sso",
                                     "POST /api/v1/a_b%"]):
        await storage.audit.add("acme", T0 + timedelta(minutes=minute // 2), "user:a@example.com", "", action,
                                str(minute), 200, {})
    audit = storage.audit
    assert {e.action for e in await audit.find("acme", action_prefix="/API/v1/configs")} == {
        "DELETE /api/v1/configs/{config_id}", "POST /api/v1/configs"}  # the same minute: in id order
    assert [e.target for e in await audit.find("acme", action_prefix="POST /api/v1/a_")] == ["3"]
    assert await audit.find("acme", action_prefix="POST /api/v1/a%") == []
    everything = await audit.find("acme")
    paged, after = [], None
    while page := await audit.find("acme", limit=1, after=after):
        paged += page
        after = (page[-1].at, page[-1].id)
    assert [e.id for e in paged] == [e.id for e in everything] and len(paged) == 4  # two share each minute

    tokens = storage.one_time_tokens
    await tokens.add("h1", "invite", T0, expires_at=T0 + timedelta(days=7), organization_id="acme", email="a@x.test",
                     role="viewer", created_by="user:o@x.test")
    await tokens.add("h2", "invite", T0, expires_at=T0 + timedelta(minutes=1), organization_id="acme",
                     email="b@x.test", role="editor")
    await tokens.add("h3", "reset", T0, expires_at=T0 + timedelta(days=7), email="a@x.test")
    assert [h for h, _ in await tokens.pending("acme", "invite", T0 + timedelta(minutes=2))] == ["h1"]
    assert not await tokens.revoke("h1", "other-org", "invite")
    assert await tokens.revoke("h1", "acme", "invite")
    assert await tokens.use("h1", "invite", T0) is None  # a revoked invitation no longer works
