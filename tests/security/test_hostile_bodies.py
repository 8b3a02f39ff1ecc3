"""Bodies built to break the server — NUL characters (PostgreSQL refuses them), nesting deep enough for the
parsers' recursion, absurd time zones, crons that never fire — are 4xx naming the field, on SQLite and on
PostgreSQL, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tests.support.databases import fresh_database
from tests.support.services import service_url

from techscaniq.api.app import create_app
from techscaniq.api.auth import Role, create_token
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

CONFIG: dict[str, Any] = {
    "name": "site", "url": "https://example.com", "schedule": {"type": "interval", "expression": "1h"},
    "alert_rules": [{"id": "r1", "name": "rule", "conditions": {"type": "technology"},
                     "notification_channels": [{"type": "webhook", "url": "https://hooks.example.com/x"}]}],
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def api(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "postgresql":
        async with fresh_database(service_url("DATABASE_URL"), "hostile_bodies") as database_url:
            async for client in _client(settings.model_copy(update={
                    "database_url": database_url, "jwt_secret_key": SecretStr("x" * 40)})):
                yield client
    else:
        async for client in _client(settings):
            yield client


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with MonitoringSystem(settings, serve_http=False, configure_logs=False) as system:
        token = create_token(system.settings, "org-a", Role.ADMIN)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(system)), base_url="http://api.test",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            yield client


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, (response.status_code, response.text[:300])
    body = response.json()
    assert body["error"] == "validation_error"
    return [item["field"] for item in body["detail"]]


async def _nothing_stored(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/configs")).json() == []


@pytest.mark.parametrize(("patch", "field"), [
    ({"name": "evil\x00name"}, "name"),
    ({"url": "https://example.com/\x00"}, "url"),
    ({"alert_rules": [{**CONFIG["alert_rules"][0], "name": "r\x00"}]}, "alert_rules.0.name"),
    ({"tags": {"team\x00": "x"}}, "tags"),
])
async def test_nul_characters_are_refused_naming_the_field(
    api: httpx.AsyncClient, patch: dict[str, Any], field: str
) -> None:
    assert _fields(await api.post("/api/v1/configs", json={**CONFIG, **patch})) == [field]
    await _nothing_stored(api)


async def test_nul_characters_in_every_other_write_are_refused(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/configs", json=CONFIG)
    assert created.status_code == 201, created.text
    config_id = created.json()["id"]
    rule = {**CONFIG["alert_rules"][0], "id": "r2", "name": "n\x00"}
    assert _fields(await api.post(f"/api/v1/configs/{config_id}/rules", json=rule)) == ["name"]
    assert _fields(await api.patch(f"/api/v1/configs/{config_id}", json={"name": "x\x00"})) == ["name"]
    assert _fields(await api.put("/api/v1/fingerprints/custom",
                                 json={"Acme\x00": {"headers": {"X": "y"}}})) == [""]
    assert _fields(await api.post("/api/v1/silences", json={"comment": "c\x00"})) == ["comment"]
    assert (await api.get(f"/api/v1/configs/{config_id}")).json()["name"] == "site"


@pytest.mark.parametrize(("path", "field", "where"), [
    ("/api/v1/changes?config_id=%00", "config_id", "query"),
    ("/api/v1/scans?config_id=a%00b&limit=5", "config_id", "query"),
    ("/api/v1/alerts?status=triggered&since=2026-01-01&config_id=%00", "config_id", "query"),
    ("/api/v1/configs/cfg%00x", "", "path"),
])
async def test_nul_characters_in_the_url_are_refused(api: httpx.AsyncClient, path: str, field: str, where: str) -> None:
    response = await api.get(path)
    assert _fields(response) == [field]
    assert response.json()["detail"][0]["in"] == where


async def test_json_nested_a_thousand_deep_is_refused(api: httpx.AsyncClient) -> None:
    body = json.dumps({**CONFIG, "tags": {}})[:-1] + ', "x": ' + "[" * 1000 + "]" * 1000 + "}"
    response = await api.post("/api/v1/configs", content=body, headers={"Content-Type": "application/json"})
    assert _fields(response) == [""] and "nested deeper than 64 levels" in response.text
    await _nothing_stored(api)


async def test_yaml_nested_five_thousand_deep_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/configs/import", content="configs: " + "[" * 5000 + "]" * 5000,
                              headers={"Content-Type": "application/yaml"})
    assert response.status_code == 400 and "nested deeper than 64 levels" in response.json()["detail"]
    await _nothing_stored(api)


@pytest.mark.parametrize(("schedule", "message"), [
    ({"type": "cron", "expression": "0 * * * *", "timezone": "A" * 10_000}, "at most 64 characters"),
    ({"type": "cron", "expression": "0 0 31 2 *"}, "never fires"),
    ({"type": "cron", "expression": "*/5 * * * * *"}, "five fields"),
])
async def test_schedules_that_cannot_run_are_refused(
    api: httpx.AsyncClient, schedule: dict[str, Any], message: str
) -> None:
    response = await api.post("/api/v1/configs", json={**CONFIG, "schedule": schedule})
    assert [f.split(".")[0] for f in _fields(response)] == ["schedule"] and message in response.text
    await _nothing_stored(api)


async def test_a_cron_nickname_is_accepted_and_scheduled(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/configs", json={**CONFIG, "schedule": {"type": "cron", "expression": "@hourly"}})
    assert created.status_code == 201, created.text
    assert created.json()["schedule"]["expression"] == "@hourly"
