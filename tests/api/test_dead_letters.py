"""Dead letters are retried by hand through the API — one, or every dead letter of a channel — once the
receiver is fixed; a real loopback webhook receiver, the running notifier, the API in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.alerts.conftest import HttpReceiver, make_change
from tests.api.conftest import Client
from tests.support.waiting import eventually

from techscaniq.api.auth import Role
from techscaniq.domain.alert import Delivery, DeliveryStatus
from techscaniq.system import MonitoringSystem


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    server = await HttpReceiver(default_status=400).start()  # a receiver misconfigured: every send is final
    try:
        yield server
    finally:
        await server.close()


async def dead_letters(system: MonitoringSystem, receiver: HttpReceiver, count: int) -> list[Delivery]:
    config_id = await system.add_monitoring_config({
        "organization_id": "org-a", "name": "shop", "url": "http://127.0.0.1:9/", "paused": True,
        "schedule": {"type": "interval", "expression": "1d"},
        "alert_rules": [{"id": "r1", "name": "Tech", "notification_channels": [
            {"type": "webhook", "url": f"{receiver.url}/hook"}]}],
    })
    config = await system.get_monitoring_config(config_id)
    for index in range(count):
        await system.alert_engine.handle_changes(config, [make_change(
            f"scan-{index}", subject=f"Lib{index}", config_id=config_id, organization_id="org-a")])

    async def all_dead() -> bool:
        found = await system.storage.deliveries.find("org-a", DeliveryStatus.DEAD.value)
        return len(found) == count

    await eventually(all_dead, within=20)
    return await system.storage.deliveries.find("org-a", DeliveryStatus.DEAD.value)


async def delivered(system: MonitoringSystem, delivery_id: str) -> bool:
    found = await system.storage.deliveries.get(delivery_id)
    return found is not None and found.status is DeliveryStatus.DELIVERED


async def test_a_dead_letter_retried_by_hand_is_delivered_once_the_receiver_is_fixed(
    system: MonitoringSystem, client: Client, receiver: HttpReceiver
) -> None:
    [dead] = await dead_letters(system, receiver, 1)
    async with client() as api:
        listed = (await api.get("/api/v1/deliveries", params={"status": "dead"})).json()
        assert [d["id"] for d in listed] == [dead.id]
        assert listed[0]["last_error"] == "HTTP 400 X"

        receiver.default_status = 200
        answer = await api.post(f"/api/v1/deliveries/{dead.id}/retry")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "pending"
        await eventually(lambda: delivered(system, dead.id), within=20)

        again = await api.post(f"/api/v1/deliveries/{dead.id}/retry")
        assert again.status_code == 409  # a delivered notification is never sent twice
        log = (await api.get("/api/v1/deliveries", params={"status": "delivered"})).json()[0]["log"]
        assert [entry["outcome"] for entry in log] == ["dead", "retry requested", "delivered"]
    assert len(receiver.requests) == 2


async def test_every_dead_letter_of_a_channel_is_retried_at_once(
    system: MonitoringSystem, client: Client, receiver: HttpReceiver
) -> None:
    dead = await dead_letters(system, receiver, 3)
    receiver.default_status = 200
    async with client() as api:
        channel = {"config_id": dead[0].config_id, "rule_id": "r1", "channel_index": 0}
        answer = await api.post("/api/v1/deliveries/retry", json=channel)
        assert answer.json() == {"retried": 3}
    for delivery in dead:
        await eventually(lambda d=delivery: delivered(system, d.id), within=20)  # type: ignore[misc]


async def test_only_writers_of_the_organization_retry(
    system: MonitoringSystem, client: Client, receiver: HttpReceiver
) -> None:
    [dead] = await dead_letters(system, receiver, 1)
    async with client(role=Role.VIEWER) as viewer, client(org="org-b") as other:
        assert (await viewer.post(f"/api/v1/deliveries/{dead.id}/retry")).status_code == 403
        assert (await other.post(f"/api/v1/deliveries/{dead.id}/retry")).status_code == 404
        assert (await other.get("/api/v1/deliveries")).json() == []
        channel = {"config_id": dead.config_id, "rule_id": "r1", "channel_index": 0}
        assert (await other.post("/api/v1/deliveries/retry", json=channel)).status_code == 404
