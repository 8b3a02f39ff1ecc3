"""Revoking JWTs as a user meets it: POST /api/v1/auth/revoke and `techscaniq token revoke`, then the
token refused over HTTP (401) and WebSocket (close 4401) — at once on the replica that revoked it, after
a restart, and on a second replica (PostgreSQL) within its refresh interval."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
import websockets
from pydantic import SecretStr
from tests.api.conftest import Client
from tests.support.databases import fresh_database
from tests.support.services import service_url
from websockets.asyncio.client import ClientConnection

from techscaniq.api.auth import Role, create_token, signing_key
from techscaniq.cli import main as cli_main
from techscaniq.realtime.hub import UNAUTHORIZED_CLOSE_CODE
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

ME = "/api/v1/auth/me"
REVOKE = "/api/v1/auth/revoke"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jti_of(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


async def expect_closed_revoked(ws: ClientConnection, within: float = 10) -> None:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == UNAUTHORIZED_CLOSE_CODE


async def welcomed(url: str) -> ClientConnection:
    ws = await websockets.connect(url)
    assert json.loads(await ws.recv())["type"] == "welcome"
    return ws


async def test_a_revoked_token_gets_401_while_other_tokens_keep_working(system: MonitoringSystem,
                                                                        client: Client) -> None:
    settings = system.settings
    victim = create_token(settings, "org-a", subject="laptop")
    other = create_token(settings, "org-a", subject="phone")
    assert jti_of(victim) != jti_of(other)
    admin = client()
    for _ in range(2):  # idempotent: revoking twice is fine
        response = await admin.post(REVOKE, json={"token": victim, "reason": "laptop stolen"})
        assert response.status_code == 200, response.text
        assert response.json()["jti"] == jti_of(victim) and response.json()["organization_id"] == "org-a"
    refused = await client(headers=bearer(victim)).get(ME)
    assert refused.status_code == 401 and refused.json()["detail"] == "token revoked"
    assert (await client(headers=bearer(other)).get(ME)).status_code == 200
    assert (await admin.get(ME)).status_code == 200


async def test_any_token_may_revoke_itself_by_jti(system: MonitoringSystem, client: Client) -> None:
    viewer_token = create_token(system.settings, "org-a", Role.VIEWER)
    viewer = client(headers=bearer(viewer_token))
    assert (await viewer.post(REVOKE, json={"jti": jti_of(viewer_token)})).status_code == 200
    assert (await viewer.get(ME)).status_code == 401


async def test_a_viewer_or_another_organization_cannot_revoke_someone_elses_token(system: MonitoringSystem,
                                                                                 client: Client) -> None:
    target = create_token(system.settings, "org-a")
    viewer = client(role=Role.VIEWER)
    for body in ({"token": target}, {"jti": jti_of(target)}):
        response = await viewer.post(REVOKE, json=body)
        assert response.status_code == 403 and "admin" in response.json()["detail"]
    foreign = await client(org="org-b").post(REVOKE, json={"token": target})
    assert foreign.status_code == 403 and "another organization" in foreign.json()["detail"]
    # An admin of org-b naming org-a's jti revokes nothing of org-a's.
    assert (await client(org="org-b").post(REVOKE, json={"jti": jti_of(target)})).status_code == 200
    assert (await client(headers=bearer(target)).get(ME)).status_code == 200


async def test_bad_revoke_requests_get_422_naming_the_field(system: MonitoringSystem, client: Client) -> None:
    admin = client()
    settings = system.settings
    forged = jwt.encode({"org": "org-a", "exp": int(time.time()) + 60, "jti": "x"}, "not-our-key-" * 4,
                        algorithm="HS256")
    legacy = jwt.encode({"sub": "old", "org": "org-a", "role": "admin", "exp": int(time.time()) + 600},
                        signing_key(settings), algorithm="HS256")
    cases = [({}, "either token"), ({"token": "not-a-jwt"}, "not a token issued by this server"),
             ({"token": forged, "jti": "x"}, "either token"), ({"token": forged}, "Signature verification failed"),
             ({"token": legacy}, "no jti")]
    for body, message in cases:
        response = await admin.post(REVOKE, json=body)
        assert response.status_code == 422, (body, response.text)
        detail = response.json()["detail"][0]
        assert detail["field"] == "token" and message in detail["message"], detail
    response = await admin.post(REVOKE, json={"jti": ""})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "jti"
    # A token issued before jti existed stays valid until it expires.
    assert (await client(headers=bearer(legacy)).get(ME)).status_code == 200
    assert (await client(headers={}).post(REVOKE, json={"jti": "x"})).status_code == 401


async def test_the_revoke_endpoint_is_in_the_openapi_document(client: Client) -> None:
    document = (await client().get("/openapi.json")).json()
    operation = document["paths"][REVOKE]["post"]
    assert "Revoke" in operation["summary"] and "requestBody" in operation


async def test_revocation_survives_a_restart_and_closes_open_websockets_at_once(settings: Settings) -> None:
    """A real embedded system (HTTP + WebSocket servers on loopback), then a new one on the same SQLite file."""
    victim = create_token(settings, "org-a", Role.VIEWER)
    async with MonitoringSystem(settings, configure_logs=False) as system:
        ws = await welcomed(f"ws://127.0.0.1:{system.ports['websocket']}/?token={victim}")
        other_ws = await welcomed(f"ws://127.0.0.1:{system.ports['websocket']}/?token="
                                  f"{create_token(settings, 'org-a')}")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{system.ports['api']}",
                                     headers=bearer(create_token(settings, "org-a"))) as http:
            assert (await http.post(REVOKE, json={"token": victim})).status_code == 200
        await expect_closed_revoked(ws)
        assert ws.close_reason == "token revoked"
        await other_ws.send(json.dumps({"action": "ping"}))
        assert json.loads(await other_ws.recv())["type"] == "pong"  # other sessions stay open
        await other_ws.close()
    async with MonitoringSystem(settings, configure_logs=False) as restarted:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{restarted.ports['api']}") as http:
            assert (await http.get(ME, headers=bearer(victim))).status_code == 401
            assert (await http.get(ME, headers=bearer(create_token(settings, "org-a")))).status_code == 200
        async with websockets.connect(f"ws://127.0.0.1:{restarted.ports['websocket']}/?token={victim}") as again:
            await expect_closed_revoked(again)


def test_the_cli_revokes_a_token_and_a_jti(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "METRICS_DATABASE_URL", "KAFKA_SERVERS", "REDIS_URL", "JWT_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the project
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    by_token, by_jti, kept = (create_token(settings, "org-a") for _ in range(3))
    assert cli_main(["token", "revoke", by_token]) == 0
    assert jti_of(by_token) in capsys.readouterr().out
    assert cli_main(["token", "revoke", jti_of(by_jti)]) == 1  # a bare jti needs its organization
    assert "--organization" in capsys.readouterr().err
    assert cli_main(["token", "revoke", jti_of(by_jti), "--org", "org-a"]) == 0
    assert cli_main(["token", "revoke", "a.b.c"]) == 1
    assert "TOKEN_OR_JTI" in capsys.readouterr().err

    async def statuses() -> list[int]:
        async with MonitoringSystem(settings, serve_http=False, configure_logs=False) as system:
            from techscaniq.api.app import create_app

            transport = httpx.ASGITransport(app=create_app(system))
            async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
                return [(await http.get(ME, headers=bearer(token))).status_code for token in (by_token, by_jti, kept)]

    assert asyncio.run(statuses()) == [401, 401, 200]


@pytest.fixture
async def postgres_settings(settings: Settings) -> AsyncIterator[Settings]:
    """The conftest settings on a fresh PostgreSQL database (in-process bus: only storage is shared)."""
    async with fresh_database(service_url("DATABASE_URL"), "revocation_test") as database_url:
        yield settings.model_copy(update={"database_url": database_url,
                                          "jwt_secret_key": SecretStr("shared-secret-of-every-replica-0123456789")})


async def test_a_second_replica_refuses_the_token_within_its_refresh_interval(postgres_settings: Settings) -> None:
    victim = create_token(postgres_settings, "org-a")
    first = MonitoringSystem(postgres_settings.model_copy(update={"instance_id": "replica-1"}), configure_logs=False)
    second = MonitoringSystem(postgres_settings.model_copy(update={"instance_id": "replica-2"}), configure_logs=False)
    second.revocations.refresh_seconds = 0.2  # 30 s in production
    async with first, second:
        ws = await welcomed(f"ws://127.0.0.1:{second.ports['websocket']}/?token={victim}")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{second.ports['api']}") as on_second, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{first.ports['api']}") as on_first:
            assert (await on_second.get(ME, headers=bearer(victim))).status_code == 200
            revoked = await on_first.post(REVOKE, json={"token": victim}, headers=bearer(victim))
            assert revoked.status_code == 200
            assert (await on_first.get(ME, headers=bearer(victim))).status_code == 401  # at once where revoked
            await expect_closed_revoked(ws, within=5)
            assert (await on_second.get(ME, headers=bearer(victim))).status_code == 401
            assert (await on_second.get(ME, headers=bearer(create_token(postgres_settings, "org-a")))).status_code \
                == 200
