"""Quotas per organization: one tenant cannot take the whole deployment. Each limit answers with the field
and the setting to raise (422), scan-now with a 429 and Retry-After; another organization keeps its own
budget. The API in-process on a real embedded system."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from techscaniq.api.app import create_app
from techscaniq.api.auth import Role, create_token
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

SMALL = {"quota_configs_per_organization": 3, "quota_rules_per_config": 2, "quota_channels_per_rule": 2,
         "quota_recipients_per_channel": 3, "quota_custom_fingerprints": 2, "quota_scan_now_per_minute": 2}


@pytest.fixture
async def system(settings: Settings) -> AsyncIterator[MonitoringSystem]:
    async with MonitoringSystem(settings.model_copy(update=SMALL), serve_http=False, configure_logs=False) as running:
        running.worker.handle = _no_scan  # type: ignore[method-assign]  # this test sends nothing off loopback
        yield running


async def _no_scan(event: Any) -> None:
    return None


def client(system: MonitoringSystem, organization: str) -> httpx.AsyncClient:
    token = create_token(system.settings, organization, Role.ADMIN)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(system)), base_url="http://api.test",
                             headers={"Authorization": f"Bearer {token}"})


def config(**fields: Any) -> dict[str, Any]:
    return {"name": "site", "url": "https://example.com", "schedule": {"type": "interval", "expression": "1h"},
            **fields}


def rule(index: int, channels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": f"r{index}", "name": f"rule {index}",
            "notification_channels": channels or [{"type": "webhook", "url": "https://hooks.example.com/x"}]}


def quota_refusal(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 422, response.text
    [detail] = response.json()["detail"]
    assert detail["type"] == "quota_exceeded"
    return detail["field"], detail["message"]


async def test_configs_per_organization(system: MonitoringSystem) -> None:
    async with client(system, "org-a") as org_a, client(system, "org-b") as org_b:
        for _ in range(3):
            assert (await org_a.post("/api/v1/configs", json=config())).status_code == 201
        _, message = quota_refusal(await org_a.post("/api/v1/configs", json=config()))
        assert "QUOTA_CONFIGS_PER_ORGANIZATION" in message and "3" in message
        imported = await org_a.post("/api/v1/configs/import", content='[{"name": "x", "url": "https://e.com", '
                                    '"schedule": {"type": "interval", "expression": "1h"}}]',
                                    headers={"Content-Type": "application/json"})
        assert imported.status_code == 422, imported.text
        assert len((await org_a.get("/api/v1/configs")).json()) == 3
        assert (await org_b.post("/api/v1/configs", json=config())).status_code == 201  # B's own budget


async def test_rules_channels_and_recipients(system: MonitoringSystem) -> None:
    async with client(system, "org-a") as api:
        field, message = quota_refusal(await api.post("/api/v1/configs", json=config(
            alert_rules=[rule(1), rule(2), rule(3)])))
        assert field == "alert_rules" and "QUOTA_RULES_PER_CONFIG" in message
        hooks = [{"type": "webhook", "url": f"https://hooks.example.com/{n}"} for n in range(3)]
        field, _ = quota_refusal(await api.post("/api/v1/configs", json=config(alert_rules=[rule(1, hooks)])))
        assert field == "alert_rules.0.notification_channels"
        mail = [{"type": "email", "recipients": [f"u{n}@example.com" for n in range(4)]}]
        field, message = quota_refusal(await api.post("/api/v1/configs", json=config(alert_rules=[rule(1, mail)])))
        assert field == "alert_rules.0.notification_channels.0.recipients" and "QUOTA_RECIPIENTS" in message

        created = await api.post("/api/v1/configs", json=config(alert_rules=[rule(1), rule(2)]))
        assert created.status_code == 201
        more = await api.post(f"/api/v1/configs/{created.json()['id']}/rules", json=rule(3))
        assert quota_refusal(more)[0] == "alert_rules"  # adding a rule to a full config


async def test_custom_fingerprints(system: MonitoringSystem) -> None:
    async with client(system, "org-a") as api:
        three = {name: {"headers": {"X-Powered-By": name}} for name in ("Acme", "Birch", "Cedar")}
        assert "QUOTA_CUSTOM_FINGERPRINTS" in quota_refusal(await api.put("/api/v1/fingerprints/custom", json=three))[1]
        two = dict(list(three.items())[:2])
        assert (await api.put("/api/v1/fingerprints/custom", json=two)).status_code == 200


async def test_scan_now_per_minute(system: MonitoringSystem) -> None:
    async with client(system, "org-a") as org_a, client(system, "org-b") as org_b:
        config_id = (await org_a.post("/api/v1/configs", json=config())).json()["id"]
        other = (await org_b.post("/api/v1/configs", json=config())).json()["id"]
        assert [(await org_a.post(f"/api/v1/configs/{config_id}/scan")).status_code for _ in range(2)] == [202, 202]
        third = await org_a.post(f"/api/v1/configs/{config_id}/scan")
        assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
        assert "QUOTA_SCAN_NOW_PER_MINUTE" in third.text
        assert (await org_b.post(f"/api/v1/configs/{other}/scan")).status_code == 202
        missing = await org_a.post("/api/v1/configs/no-such-config/scan")
        assert missing.status_code == 404
