"""Unauthenticated probes learn the status, not the deployment: /health without credentials names each
component's status only; the instance, mode and details (paths, counts, failures) need a token or API key.
The WebSocket port's /stats gives strangers the totals the deployment guide checks (connections,
subscriptions), not the rest. Real servers on loopback."""

from __future__ import annotations

import httpx

from techscaniq.api.auth import create_token
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

KEY = "health-key-0123456789"


async def test_health_and_stats_tell_strangers_the_status_only(settings: Settings) -> None:
    keyed = settings.model_copy(update={"api_keys": f"org-h:{KEY}", "host": "127.0.0.1"})
    async with MonitoringSystem(keyed, configure_logs=False) as system:
        api = f"http://127.0.0.1:{system.ports['api']}"
        realtime = f"http://127.0.0.1:{system.ports['websocket']}"
        token = create_token(keyed, "org-h")
        async with httpx.AsyncClient(timeout=10) as client:
            stranger = (await client.get(f"{api}/health")).json()
            insider = (await client.get(f"{api}/health", headers={"X-API-Key": KEY})).json()
            forged = (await client.get(f"{api}/health", headers={"Authorization": "Bearer not-a-token"})).json()
            stats_stranger = (await client.get(f"{realtime}/stats")).json()
            stats_insider = (await client.get(f"{realtime}/stats", headers={"Authorization": f"Bearer {token}"})).json()

    assert stranger["status"] == "healthy"
    assert set(stranger) == {"status", "components"}
    assert stranger["components"]["database"] == {"status": "running"}
    assert str(keyed.data_dir) not in str(stranger) and system.instance_id not in str(stranger)
    assert forged == stranger
    assert insider["instance"] == system.instance_id
    assert "SQLite" in insider["components"]["database"]["detail"]
    assert stats_stranger == {"status": "running", "connections": 0, "subscriptions": 0}  # the guide's check
    assert stats_insider["connections"] == 0 and stats_insider["status"] == "running"
