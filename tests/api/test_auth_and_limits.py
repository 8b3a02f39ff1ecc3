"""Authentication (401 for missing, invalid and expired credentials), roles (viewers read, 403 on
writes), the API-key -> JWT exchange the dashboard signs in with, and rate limits (429 + Retry-After)."""

from __future__ import annotations

import jwt
from tests.api.conftest import KEY_A, Client, Seeded, config_body

from techscaniq.api.app import create_app
from techscaniq.api.auth import Role, create_token, signing_key
from techscaniq.api.ratelimit import InMemoryRateLimiter
from techscaniq.domain.common import utcnow
from techscaniq.system import MonitoringSystem


async def test_missing_invalid_and_expired_credentials_are_401(system: MonitoringSystem, client: Client) -> None:
    expired = jwt.encode({"sub": "x", "org": "org-a", "role": "admin", "exp": 1_000_000},
                         signing_key(system.settings), algorithm="HS256")
    forged = jwt.encode({"sub": "x", "org": "org-a", "role": "admin", "exp": 4_000_000_000},
                        "not-the-key-" + "x" * 32, algorithm="HS256")
    cases = {
        "missing": {},
        "garbage": {"Authorization": "Bearer garbage"},
        "forged": {"Authorization": f"Bearer {forged}"},
        "expired": {"Authorization": f"Bearer {expired}"},
        "wrong api key": {"X-API-Key": "key-a-wrong"},
    }
    for name, headers in cases.items():
        response = await client(headers=headers).get("/api/v1/configs")
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"] == "unauthorized"
    assert "expired" in (await client(headers=cases["expired"]).get("/api/v1/configs")).json()["detail"]


async def test_viewers_read_but_every_write_is_403(seeded: Seeded, client: Client) -> None:
    viewer = client("org-a", Role.VIEWER)
    assert (await viewer.get(f"/api/v1/configs/{seeded.config_id}")).status_code == 200
    writes = [
        ("POST", "/api/v1/configs", config_body("new")),
        ("PATCH", f"/api/v1/configs/{seeded.config_id}", {"name": "renamed"}),
        ("DELETE", f"/api/v1/configs/{seeded.config_id}", None),
        ("POST", f"/api/v1/configs/{seeded.config_id}/resume", None),
        ("POST", f"/api/v1/configs/{seeded.config_id}/rules", {"name": "r"}),
        ("POST", f"/api/v1/changes/{seeded.change_id}/false-positive", None),
        ("POST", f"/api/v1/alerts/{seeded.alert_id}/acknowledge", None),
        ("DELETE", f"/api/v1/silences/{seeded.silence_id}", None),
        ("POST", "/api/v1/configs/import", [config_body("imported")]),
    ]
    for method, url, body in writes:
        response = await viewer.request(method, url, json=body)
        assert response.status_code == 403, (method, url, response.text)
    assert (await viewer.get("/api/v1/configs/export", params={"include_secrets": "true"})).status_code == 403
    assert (await client("org-a").get(f"/api/v1/configs/{seeded.config_id}")).json()["name"] == "Site A"


async def test_an_api_key_is_exchanged_for_a_short_lived_token(system: MonitoringSystem, client: Client) -> None:
    anonymous = client(None)
    issued = await anonymous.post("/api/v1/auth/token", json={"api_key": KEY_A, "expires_minutes": 5})
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["organization_id"] == "org-a" and body["expires_in"] == 300
    claims = jwt.decode(body["access_token"], signing_key(system.settings), algorithms=["HS256"])
    assert claims["org"] == "org-a" and claims["exp"] - utcnow().timestamp() <= 300
    me = await client(headers={"Authorization": f"Bearer {body['access_token']}"}).get("/api/v1/auth/me")
    assert me.json() == {"organization_id": "org-a", "role": "admin", "subject": me.json()["subject"],
                         "can_write": True}
    assert KEY_A not in me.text  # the subject names the key without revealing it

    viewer = await anonymous.post("/api/v1/auth/token", json={"api_key": KEY_A, "role": "viewer"})
    assert (await client(headers={"Authorization": f"Bearer {viewer.json()['access_token']}"})
            .post("/api/v1/configs", json=config_body("x"))).status_code == 403
    assert (await anonymous.post("/api/v1/auth/token", json={"api_key": "nope"})).status_code == 401
    # A JWT is not an API key: a token cannot be used to mint a longer one.
    token = create_token(system.settings, "org-a")
    assert (await anonymous.post("/api/v1/auth/token", json={"api_key": token})).status_code == 401
    assert (await anonymous.post("/api/v1/auth/token", headers={"X-API-Key": KEY_A})).status_code == 200


async def test_rate_limit_per_credential_and_per_organization(system: MonitoringSystem, client: Client) -> None:
    system.settings = system.settings.model_copy(update={"rate_limit_per_minute": 5,
                                                         "organization_rate_limit_per_minute": 8})
    app = create_app(system)
    first = client(headers={"X-API-Key": KEY_A}, app_override=app)
    statuses = [(await first.get("/api/v1/configs")).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    limited = await first.get("/api/v1/configs")
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 12  # one request's share of the minute
    # Another credential of the same organization has its own budget, until the organization's runs out.
    second = client("org-a", app_override=app)
    statuses = [(await second.get("/api/v1/configs")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "organization" in (await second.get("/api/v1/configs")).json()["detail"]
    # Other organizations are not affected.
    assert (await client("org-b", app_override=app).get("/api/v1/configs")).status_code == 200


async def test_the_in_memory_limiter_refills_evenly() -> None:
    now = [0.0]
    limiter = InMemoryRateLimiter(clock=lambda: now[0])
    results = [await limiter.hit("k", 3, 60) for _ in range(4)]
    assert [allowed for allowed, _ in results] == [True, True, True, False]
    assert results[-1][1] == 20.0  # one token every 20 s
    now[0] = 20.0
    assert (await limiter.hit("k", 3, 60))[0] is True
    assert (await limiter.hit("k", 3, 60))[0] is False
