"""The permission table (api/permissions.py) against the real app: every route and WebSocket action has a row,
every row a route, and each role — a person signed in with that role — can do exactly what its row allows:
a role the row allows is never refused (401/403), a lesser one always gets 403, nobody gets in without
credentials except on public rows."""

from __future__ import annotations

import json
import re

import httpx
import websockets
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount
from tests.support.accounts import member, session_of

from techscaniq.api.app import create_app
from techscaniq.api.auth import Role
from techscaniq.api.permissions import ROUTES
from techscaniq.realtime.hub import COMMANDS, UNAUTHORIZED_CLOSE_CODE
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

ROLES = [Role.VIEWER, Role.EDITOR, Role.ADMIN, Role.OWNER]


def app_routes(system: MonitoringSystem) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(create_app(system).routes):
        route, path = context.original_route, str(context.path)
        if isinstance(route, APIWebSocketRoute):
            found.add(("WS", path))
        elif isinstance(route, Mount):
            found.add(("GET", path))
        else:
            found |= {(method, path) for method in (context.methods or set()) if method != "HEAD"}
    return found | {("WS", command) for command in COMMANDS}


def test_every_route_and_websocket_command_has_exactly_one_row(system: MonitoringSystem) -> None:
    routes = app_routes(system)
    assert routes - ROUTES.keys() == set(), "routes without a row in api/permissions.py (refused to everyone)"
    assert ROUTES.keys() - routes == set(), "rows of routes that do not exist"


async def test_each_role_can_do_exactly_what_its_row_allows(system: MonitoringSystem) -> None:
    app = create_app(system)
    users = {role: await member(system.storage, f"{role.value}@example.com", "org-a", role.value) for role in ROLES}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        for (method, template), needed in sorted(ROUTES.items(), key=lambda item: item[0]):
            if method == "WS":
                continue
            path = re.sub(r"\{[^}]+\}", "not-a-real-id", template)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            anonymous = await http.request(method, path, json=body)
            where = f"{method} {template}"
            if needed is None:
                assert "missing credentials" not in anonymous.text, where
                continue
            assert anonymous.status_code == 401, f"{where} without credentials: {anonymous.status_code}"
            for role in ROLES:
                # A fresh session per request: the sign-out routes end the one they are called with.
                signed_in = await session_of(system.storage, users[role], "org-a")
                response = await http.request(method, path, json=body, headers=signed_in.headers)
                outcome = f"{where} as {role.value}: {response.status_code} {response.text[:200]}"
                if role.allows(needed):
                    assert response.status_code not in (401, 403), outcome
                else:
                    assert response.status_code == 403, outcome
                    assert f"needs the {needed.value} role" in response.json()["detail"], outcome


async def test_writes_with_the_session_cookie_need_the_csrf_token(system: MonitoringSystem) -> None:
    app = create_app(system)
    owner = await session_of(system.storage, await member(system.storage, "o@example.com", "org-a", "owner"), "org-a")
    cookie_only = {"Cookie": owner.headers["Cookie"]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        assert (await http.get("/api/v1/configs", headers=cookie_only)).status_code == 200  # reads need none
        forged = await http.post("/api/v1/silences", json={}, headers=cookie_only)
        assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"]
        wrong = await http.post("/api/v1/silences", json={}, headers={**cookie_only, "X-CSRF-Token": "guess"})
        assert wrong.status_code == 403
        assert (await http.post("/api/v1/silences", json={}, headers=owner.headers)).status_code == 422  # in


async def test_the_websocket_takes_the_session_cookie_from_our_own_pages_only(settings: Settings) -> None:
    async with MonitoringSystem(settings, configure_logs=False) as system:
        viewer = await session_of(system.storage, await member(system.storage, "v@example.com", "org-a", "viewer"),
                                  "org-a")
        port = system.ports["api"]
        url = f"ws://127.0.0.1:{port}/ws"
        cookie = {"Cookie": viewer.headers["Cookie"]}
        async with websockets.connect(url, additional_headers=cookie, origin=f"http://127.0.0.1:{port}") as ws:
            welcome = json.loads(await ws.recv())
            assert welcome["type"] == "welcome" and welcome["organization_id"] == "org-a"
            for command in COMMANDS:  # every command's row allows a viewer
                await ws.send(json.dumps({"action": command}))
                assert json.loads(await ws.recv())["type"] in ("subscribed", "pong")
        # Another site's page: its browser sends our cookie too, but the Origin gives it away.
        async with websockets.connect(url, additional_headers=cookie, origin="http://evil.test") as ws:
            closed = await ws.wait_closed() or ws.close_code
            assert closed == UNAUTHORIZED_CLOSE_CODE
