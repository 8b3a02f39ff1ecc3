"""Every 202 of scan-now means the request is stored: 40 requests answered, then kill -9 a moment later
(scans in flight, most not started), restart — every scan id the API answered with is scanned and stored.
Real processes (`start_monitoring_system.py`, embedded SQLite) and a real slow site on loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.scaleout.replicas import Replica
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

KEY = "faults-key-0123456789"
REQUESTS = 40


async def test_no_accepted_scan_now_is_lost_to_kill_9(tmp_path: Path) -> None:
    async with LocalSite() as site:
        site.route("/", body="<html><body>slow shop</body></html>", delay=0.5)
        replica = Replica("embedded", tmp_path / "embedded", {"API_KEYS": f"org-f:{KEY}", "SCAN_CONCURRENCY": "4"})
        replica.start()
        try:
            await replica.wait_ready()
            async with httpx.AsyncClient(base_url=replica.api, headers={"X-API-Key": KEY}, timeout=10) as api:
                created = await api.post("/api/v1/configs", json={
                    "name": "slow shop", "url": site.url("/"), "schedule": {"type": "interval", "expression": "1d"},
                })
                assert created.status_code == 201, created.text
                config_id = created.json()["id"]
                accepted = []
                for _ in range(REQUESTS):
                    answer = await api.post(f"/api/v1/configs/{config_id}/scan")
                    assert answer.status_code == 202, answer.text
                    accepted.append(answer.json()["scan_id"])
            replica.kill()

            replica.start()  # same data directory: the requests are still there
            await replica.wait_ready()
            async with httpx.AsyncClient(base_url=replica.api, headers={"X-API-Key": KEY}, timeout=10) as api:
                async def all_stored() -> bool:
                    found = [(await api.get(f"/api/v1/scans/{scan_id}")).status_code for scan_id in accepted]
                    return found.count(200) == REQUESTS

                await eventually(all_stored, within=90, every=0.5)
        finally:
            replica.stop()
