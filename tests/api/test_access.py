"""People and access through the API: the first-run setup link works once, sign-in sessions (cookie flags,
CSRF, idle and absolute expiry, sign out everywhere, switching organization), brute-force lockout, API
keys (shown once, stored hashed, last used, revoked), the audit log of every write route."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import httpx
import pytest
import websockets
from sqlalchemy import select, update
from tests.api.conftest import Client
from tests.support.accounts import member, session_of
from tests.support.services import service_url
from websockets.asyncio.client import ClientConnection

from techscaniq.accounts.first_run import setup_link
from techscaniq.accounts.secrets import hash_password
from techscaniq.api.app import create_app
from techscaniq.api.auth import Role, create_token
from techscaniq.api.masking import MASK
from techscaniq.api.permissions import ROUTES
from techscaniq.domain.common import utcnow
from techscaniq.realtime.hub import UNAUTHORIZED_CLOSE_CODE
from techscaniq.runner import banner
from techscaniq.settings import Settings
from techscaniq.storage.sql.tables import api_keys, one_time_tokens, sessions
from techscaniq.system import MonitoringSystem

PASSWORD = "correct horse battery staple"


def token_of(link: str) -> str:
    return link.split("#token=", 1)[1]


async def test_the_setup_link_creates_the_first_owner_once(system: MonitoringSystem, http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/v1/setup")).json() == {"needed": True}
    link = await setup_link(system.api_services)
    assert link is not None and link.startswith("http://localhost:") and "/static/setup.html#token=" in link
    assert link in banner(system, link)
    other_replica = await setup_link(system.api_services)  # every replica's link works until the first owner exists
    assert other_replica is not None and other_replica != link
    async with system.storage.engine.connect() as conn:
        stored = set((await conn.execute(select(one_time_tokens.c.token_hash))).scalars())
    assert token_of(link) not in stored and len(stored) == 2  # only hashes are stored

    body = {"token": token_of(link), "email": "Owner@Example.com", "password": PASSWORD,
            "organization_name": "Acme Inc."}
    short = await http.post("/api/v1/setup", json={**body, "password": "short"})
    assert short.status_code == 422 and short.json()["detail"][0]["field"] == "password"
    wrong = await http.post("/api/v1/setup", json={**body, "token": "guessed"})
    assert wrong.status_code == 401
    done = await http.post("/api/v1/setup", json=body)
    assert done.status_code == 200, done.text
    session = done.json()
    assert (session["email"], session["organization_id"], session["role"]) == ("owner@example.com", "acme-inc",
                                                                               "owner")
    assert "techscaniq_session" in done.cookies
    assert await setup_link(system.api_services) is None  # setup is done: no link in the banner any more
    for token in (token_of(link), token_of(other_replica)):
        again = await http.post("/api/v1/setup", json={**body, "token": token, "email": "intruder@example.com"})
        assert again.status_code == 403, again.text
    assert (await http.get("/api/v1/setup")).json() == {"needed": False}
    assert await system.storage.accounts.user_by_email("intruder@example.com") is None


async def test_sign_in_sets_a_safe_cookie_and_sessions_end_as_they_should(system: MonitoringSystem,
                                                                           http: httpx.AsyncClient) -> None:
    user_id = await member(system.storage, "ed@example.com", "org-a", "editor", await hash_password(PASSWORD))
    await member(system.storage, "ed@example.com", "org-b", "viewer")
    wrong = await http.post("/api/v1/session", json={"email": "ed@example.com", "password": "not the password"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong email or password"
    signed = await http.post("/api/v1/session", json={"email": "ED@example.com", "password": PASSWORD},
                             headers={"X-Forwarded-Proto": "https"})
    assert signed.status_code == 200, signed.text
    cookie = signed.headers["set-cookie"].lower()
    assert all(flag in cookie for flag in ("httponly", "samesite=strict", "secure", "path=/"))
    info = signed.json()
    assert info["role"] == "editor" and [o["organization_id"] for o in info["organizations"]] == ["org-a", "org-b"]
    plain = await http.post("/api/v1/session", json={"email": "ed@example.com", "password": PASSWORD})
    assert "secure" not in plain.headers["set-cookie"].lower()  # plain HTTP (embedded on localhost)
    http.cookies.clear()

    session_cookie = plain.cookies["techscaniq_session"]
    headers = {"Cookie": f"techscaniq_session={session_cookie}", "X-CSRF-Token": plain.json()["csrf_token"]}
    assert (await http.get("/api/v1/session", headers=headers)).json()["email"] == "ed@example.com"
    # Switching organization changes the role with it: a viewer in org-b cannot add a site there.
    switched = await http.put("/api/v1/session/organization", json={"organization_id": "org-b"}, headers=headers)
    assert switched.json()["role"] == "viewer"
    assert (await http.post("/api/v1/configs", json={}, headers=headers)).status_code == 403
    refused = await http.put("/api/v1/session/organization", json={"organization_id": "org-z"}, headers=headers)
    assert refused.status_code == 422

    # Idle: a session unused for SESSION_IDLE_MINUTES ends; absolute: SESSION_MAX_HOURS after sign-in.
    idle = await session_of(system.storage, user_id, "org-a")
    past = await session_of(system.storage, user_id, "org-a")
    now = utcnow()
    async with system.storage.engine.begin() as conn:
        await conn.execute(update(sessions).where(sessions.c.csrf_token == idle.csrf_token).values(
            last_seen_at=now - timedelta(minutes=system.settings.session_idle_minutes + 1)))
        await conn.execute(update(sessions).where(sessions.c.csrf_token == past.csrf_token).values(
            expires_at=now - timedelta(seconds=1)))
    for ended in (idle, past):
        answer = await http.get("/api/v1/overview", headers=ended.headers)
        assert answer.status_code == 401 and "expired" in answer.json()["detail"]

    other_browser = await session_of(system.storage, user_id, "org-a")
    everywhere = await http.post("/api/v1/session/sign-out-everywhere", headers=headers)
    assert everywhere.json()["sessions_ended"] >= 2
    for gone in (headers, other_browser.headers):
        assert (await http.get("/api/v1/overview", headers=gone)).status_code == 401


async def test_repeated_failures_lock_the_account_and_say_when_to_retry(system: MonitoringSystem,
                                                                        http: httpx.AsyncClient) -> None:
    await member(system.storage, "target@example.com", "org-a", "viewer", await hash_password(PASSWORD))
    for _ in range(system.settings.sign_in_max_failures):
        wrong = await http.post("/api/v1/session", json={"email": "target@example.com", "password": "x" * 12})
        assert wrong.status_code == 401
    locked = await http.post("/api/v1/session", json={"email": "target@example.com", "password": PASSWORD})
    assert locked.status_code == 429, locked.text
    assert "locked" in locked.json()["detail"] and "try again at" in locked.json()["detail"]
    assert 800 < int(locked.headers["retry-after"]) <= 900  # SIGN_IN_LOCKOUT_MINUTES=15
    audit = await system.storage.audit.find("org-a", action="POST /api/v1/session")
    assert [entry.outcome for entry in audit].count(401) == system.settings.sign_in_max_failures
    assert all(entry.actor == "user:target@example.com" and "password" not in str(entry.details).replace(
        f"'password': '{MASK}'", "") for entry in audit)


async def test_attempts_from_one_address_are_limited(settings: Settings) -> None:
    limited = settings.model_copy(update={"sign_in_attempts_per_address_per_minute": 3})
    async with MonitoringSystem(limited, serve_http=False, configure_logs=False) as system:
        transport = httpx.ASGITransport(app=create_app(system))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            answers = [await http.post("/api/v1/session", json={"email": f"u{n}@example.com", "password": "x" * 12})
                       for n in range(4)]
            setup = await http.post("/api/v1/setup", json={"token": "t", "email": "a@example.com",
                                                           "password": PASSWORD, "organization_name": "A"})
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert "from your address" in answers[-1].json()["detail"] and answers[-1].headers["retry-after"]
    assert setup.status_code == 401  # setup has its own budget


async def test_api_keys_are_shown_once_stored_hashed_and_revoked(system: MonitoringSystem, client: Client) -> None:
    admin = client("org-a", Role.ADMIN)
    created = await admin.post("/api/v1/api-keys", json={"name": "deploy bot", "role": "editor"})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("tsk_") and created.json()["last_used_at"] is None
    listed = (await admin.get("/api/v1/api-keys")).json()
    assert [k["name"] for k in listed] == ["deploy bot"] and key not in str(listed)
    async with system.storage.engine.connect() as conn:
        stored = (await conn.execute(select(api_keys))).one()
    assert key not in str(tuple(stored))
    bot = client(headers={"X-API-Key": key})
    assert (await bot.get("/api/v1/auth/me")).json()["role"] == "editor"
    assert (await bot.post("/api/v1/api-keys", json={"name": "escalate"})).status_code == 403
    assert (await admin.get("/api/v1/api-keys")).json()[0]["last_used_at"] is not None
    exchanged = await bot.post("/api/v1/auth/token", json={"api_key": key})
    assert exchanged.json()["role"] == "editor"
    upgraded = await bot.post("/api/v1/auth/token", json={"api_key": key, "role": "admin"})
    assert upgraded.status_code == 422
    jwt_of_key = client(headers={"Authorization": f"Bearer {exchanged.json()['access_token']}"})
    assert (await jwt_of_key.get("/api/v1/overview")).status_code == 200
    outrank = await client("org-a", Role.EDITOR).post("/api/v1/api-keys", json={"name": "x", "role": "admin"})
    assert outrank.status_code == 403  # editors do not manage keys at all
    editor = client("org-a", Role.EDITOR)
    assert (await editor.get("/api/v1/configs/export", params={"include_secrets": "true"})).status_code == 403
    other_token = create_token(system.settings, "org-a", Role.VIEWER)
    assert (await editor.post("/api/v1/auth/revoke", json={"token": other_token})).status_code == 403
    assert (await client("org-b").delete(f"/api/v1/api-keys/{listed[0]['id']}")).status_code == 404
    revoked = await admin.delete(f"/api/v1/api-keys/{listed[0]['id']}")
    assert revoked.json()["revoked_at"] is not None
    for dead in (bot, jwt_of_key):
        answer = await dead.get("/api/v1/overview")
        assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


async def test_a_revoked_key_stops_working_on_every_replica(settings: Settings) -> None:
    shared = settings.model_copy(update={"database_url": service_url("DATABASE_URL"), "api_keys": "org-r:boot-key-1"})
    async with MonitoringSystem(shared, serve_http=False, configure_logs=False) as one, \
            MonitoringSystem(shared, serve_http=False, configure_logs=False) as two:
        clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(s)), base_url="http://r.test")
                   for s in (one, two)]
        try:
            created = await clients[0].post("/api/v1/api-keys", json={"name": "replicated", "role": "viewer"},
                                            headers={"X-API-Key": "boot-key-1"})
            key = {"X-API-Key": created.json()["key"]}
            assert (await clients[1].get("/api/v1/overview", headers=key)).status_code == 200
            await clients[1].delete(f"/api/v1/api-keys/{created.json()['id']}", headers={"X-API-Key": "boot-key-1"})
            # No wait: each request reads the key's row, so the other replica refuses it at once.
            assert (await clients[0].get("/api/v1/overview", headers=key)).status_code == 401
        finally:
            for http in clients:
                await http.aclose()


async def test_every_write_route_is_in_the_audit_log_with_secrets_masked(system: MonitoringSystem,
                                                                         client: Client) -> None:
    token = create_token(system.settings, "org-a", Role.OWNER, subject="alice")
    owner = client(headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": "ignored"})
    writes = sorted(key for key, needed in ROUTES.items() if key[0] in ("POST", "PUT", "PATCH", "DELETE")
                    and needed is not None and key[1].startswith("/api/"))
    secret_rule = {"name": "r", "notification_channels": [
        {"type": "webhook", "url": "https://hooks.example.test/very-secret", "headers": {"X-Token": "hdr-secret"}}]}
    for method, template in writes:
        path = re.sub(r"\{[^}]+\}", "no-such-id", template)
        body = {"name": "s", "url": "http://127.0.0.1:9/", "alert_rules": [secret_rule]} if method != "DELETE" else None
        await owner.request(method, path, json=body)
    entries = await system.storage.audit.find("org-a", limit=1000)
    recorded = {entry.action for entry in entries}
    missing = {f"{method} {template}" for method, template in writes} - recorded
    assert missing == set(), "write routes missing from the audit log"
    assert all(entry.actor == "alice" and entry.address == "127.0.0.1" for entry in entries)
    text = str([entry.details for entry in entries])
    assert "very-secret" not in text and "hdr-secret" not in text and MASK in text
    config = next(e for e in entries if e.action == "POST /api/v1/configs")
    assert config.outcome in (201, 422) and config.details["body"]["name"] == "s"
    audit = await owner.get("/api/v1/audit", params={"action": "POST /api/v1/configs"})
    assert [row["action"] for row in audit.json()] == ["POST /api/v1/configs"]
    export = await owner.get("/api/v1/audit/export")
    assert export.headers["content-type"].startswith("application/x-ndjson")
    assert len(export.text.splitlines()) == len(entries)
    assert (await client("org-a", Role.EDITOR).get("/api/v1/audit")).status_code == 403
    assert await system.storage.audit.find("org-b") == []


async def test_ending_a_session_a_member_or_a_key_closes_its_websockets_on_every_replica(settings: Settings) -> None:
    """Signing out on one replica, removing a member (also from an organization their session switched away
    from) or revoking a key closes the WebSockets that credential opened on another replica (at its next
    revocation reload, called here instead of waiting 30 s)."""
    shared = settings.model_copy(update={"database_url": service_url("DATABASE_URL"), "api_keys": "org-w:boot-key-2"})
    async with MonitoringSystem(shared.model_copy(update={"instance_id": "r1"}), configure_logs=False) as one, \
            MonitoringSystem(shared.model_copy(update={"instance_id": "r2"}), configure_logs=False) as two:
        host = f"127.0.0.1:{two.ports['api']}"

        async def socket_on_two(headers: dict[str, str]) -> ClientConnection:
            ws = await websockets.connect(f"ws://{host}/ws", additional_headers=headers)
            assert json.loads(await ws.recv())["type"] == "welcome"
            return ws

        async def closed_as_ended(ws: ClientConnection) -> bool:
            await two.revocations.refresh()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            return closed.value.rcvd is not None and closed.value.rcvd.code == UNAUTHORIZED_CLOSE_CODE

        owner = await session_of(one.storage, await member(one.storage, "owner@w.test", "org-w", "owner"), "org-w")
        leaving = await session_of(one.storage, await member(one.storage, "left@w.test", "org-w", "viewer"), "org-w")
        staying = await session_of(one.storage, await member(one.storage, "stay@w.test", "org-w", "viewer"), "org-w")
        origin = {"Origin": f"http://{host}"}
        owner_ws, leaving_ws, staying_ws = [await socket_on_two({**person.headers, **origin})
                                            for person in (owner, leaving, staying)]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{one.ports['api']}") as on_one:
            assert (await on_one.delete("/api/v1/session", headers=owner.headers)).status_code == 200
            assert await closed_as_ended(owner_ws)

            admin = {"X-API-Key": "boot-key-2"}
            assert (await on_one.delete(f"/api/v1/members/{leaving.user_id}", headers=admin)).status_code == 200
            assert await closed_as_ended(leaving_ws)

            # A session that switched to another organization since still has its socket here: removal ends it.
            await member(one.storage, "left@w.test", "org-v", "viewer")
            await member(one.storage, "left@w.test", "org-w", "viewer")  # invited back
            moved = await session_of(one.storage, leaving.user_id, "org-w")
            moved_ws = await socket_on_two({**moved.headers, **origin})
            assert (await on_one.put("/api/v1/session/organization", json={"organization_id": "org-v"},
                                     headers=moved.headers)).status_code == 200
            assert (await on_one.delete(f"/api/v1/members/{leaving.user_id}", headers=admin)).status_code == 200
            assert await closed_as_ended(moved_ws)
            assert (await on_one.get("/api/v1/session", headers=moved.headers)).json()["organization_id"] == "org-v"

            created = (await on_one.post("/api/v1/api-keys", json={"name": "feed", "role": "viewer"},
                                         headers=admin)).json()
            key_ws = await socket_on_two({"Authorization": f"Bearer {created['key']}"})
            exchanged = (await on_one.post("/api/v1/auth/token", json={"api_key": created["key"]})).json()
            token_ws = await socket_on_two({"Authorization": f"Bearer {exchanged['access_token']}"})
            assert (await on_one.delete(f"/api/v1/api-keys/{created['id']}", headers=admin)).status_code == 200
            assert await closed_as_ended(key_ws) and await closed_as_ended(token_ws)

        await staying_ws.send(json.dumps({"action": "ping"}))  # someone else's connection is untouched
        assert json.loads(await staying_ws.recv())["type"] == "pong"
        await staying_ws.close()
