"""Single sign-on with OpenID Connect against a real provider on loopback (panva's oidc-provider): the owner
sets issuer, client and claim-to-role mapping; a person signs in at the provider, comes back signed in with
the role their groups map to, and their account is created on first sign-in. The issuer goes through the
address guard; a bad or forged answer never signs anyone in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests.support.oidc_provider import OidcProvider, oidc_provider, sign_in_at_provider

from techscaniq.api.app import create_app
from techscaniq.api.auth import Role, create_token
from techscaniq.api.masking import MASK
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

PUBLIC = "http://api.test"
GROUPS = {"alice": ["monitoring-admins", "staff"], "bob": ["staff"], "mallory": ["contractors"]}


@pytest.fixture
async def provider() -> AsyncIterator[OidcProvider]:
    async with oidc_provider(f"{PUBLIC}/api/v1/sso/callback", GROUPS) as running:
        yield running


@pytest.fixture
async def sso_app(settings: Settings) -> AsyncIterator[tuple[MonitoringSystem, httpx.AsyncClient]]:
    configured = settings.model_copy(update={"public_url": PUBLIC})
    async with MonitoringSystem(configured, serve_http=False, configure_logs=False) as system:
        transport = httpx.ASGITransport(app=create_app(system))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
            yield system, http


async def test_people_sign_in_with_the_provider_and_get_the_role_their_groups_map_to(
        provider: OidcProvider, sso_app: tuple[MonitoringSystem, httpx.AsyncClient]) -> None:
    system, http = sso_app
    owner = {"Authorization": f"Bearer {create_token(system.settings, 'acme', Role.OWNER)}"}
    admin = {"Authorization": f"Bearer {create_token(system.settings, 'acme', Role.ADMIN)}"}
    settings = {"issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret,
                "role_claim": "groups", "role_map": {"monitoring-admins": "admin", "staff": "viewer"}}
    assert (await http.put("/api/v1/sso", json=settings, headers=admin)).status_code == 403  # owners only
    saved = await http.put("/api/v1/sso", json=settings, headers=owner)
    assert saved.status_code == 200, saved.text
    assert saved.json()["client_secret"] == MASK and provider.client_secret not in saved.text
    assert saved.json()["redirect_uri"] == f"{PUBLIC}/api/v1/sso/callback"
    kept = await http.put("/api/v1/sso", json={**settings, "client_secret": MASK}, headers=owner)  # secret kept
    assert kept.status_code == 200
    assert (await http.get("/api/v1/sso", headers=admin)).json()["role_map"] == settings["role_map"]

    for login, role in (("alice", "admin"), ("bob", "viewer")):
        http.cookies.clear()
        start = await http.get("/api/v1/sso/acme/login")
        assert start.status_code == 302 and start.headers["location"].startswith(f"{provider.issuer}/auth?")
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
        back = await sign_in_at_provider(start.headers["location"], login, f"{PUBLIC}/api/v1/sso/callback")
        done = await http.get(back)
        assert done.status_code == 302 and done.headers["location"] == "/", done.headers.get("location")
        session = await http.get("/api/v1/session")
        assert session.status_code == 200, session.text
        assert (session.json()["email"], session.json()["role"]) == (f"{login}@example.com", role)
        replay = await http.get(back)  # the code (and the flow) work once
        assert replay.headers["location"].startswith("/static/login.html#error=")
    user = await system.storage.accounts.user_by_email("alice@example.com")
    assert user is not None and user.password_hash is None  # created on first sign-in, no password

    http.cookies.clear()
    start = await http.get("/api/v1/sso/acme/login")
    back = await sign_in_at_provider(start.headers["location"], "mallory", f"{PUBLIC}/api/v1/sso/callback")
    refused = await http.get(back)
    assert "no role in this organization" in refused.headers["location"].replace("%20", " ")
    assert await system.storage.accounts.user_by_email("mallory@example.com") is None

    forged = await http.get("/api/v1/sso/callback", params={"code": "x", "state": "not-ours"})
    assert forged.headers["location"].startswith("/static/login.html#error=")
    audit = await system.storage.audit.find("acme", action="PUT /api/v1/sso")
    assert audit and provider.client_secret not in str([entry.details for entry in audit])


async def test_an_issuer_the_address_guard_refuses_is_a_clear_error(
        provider: OidcProvider, settings: Settings) -> None:
    guarded = settings.model_copy(update={"notification_allowed_networks": None})
    async with MonitoringSystem(guarded, serve_http=False, configure_logs=False) as system:
        transport = httpx.ASGITransport(app=create_app(system))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
            owner = {"Authorization": f"Bearer {create_token(system.settings, 'acme', Role.OWNER)}"}
            refused = await http.put("/api/v1/sso", headers=owner, json={
                "issuer": provider.issuer, "client_id": "c", "client_secret": "s"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "issuer"
