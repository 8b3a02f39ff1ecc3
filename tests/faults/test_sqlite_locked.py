"""Another process holds the SQLite file (`BEGIN EXCLUSIVE`, as a sqlite3 shell or a backup tool would) under a
running embedded replica: /health and /ready say the database is locked by that process and name it, writes answer
503 with the reason instead of hanging the whole busy timeout (30 s before), reads keep working, and the scan that
was in flight when the lock was taken is stored once the lock is gone. Real processes, a real file lock, a real site
on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from tests.scaleout.replicas import Replica
from tests.support.testsite import LocalSite, ReceivedRequest, Route
from tests.support.waiting import eventually

KEY = "faults-lock-0123456789"
HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin; the transaction then ends with the process
"""


async def test_a_database_locked_by_another_process_is_named_and_nothing_accepted_is_lost(tmp_path: Path) -> None:
    holder_script = tmp_path / "lock_holder.py"
    holder_script.write_text(HOLDER)
    replica = Replica("locked", tmp_path / "replica", {"API_KEYS": f"org-l:{KEY}", "SCHEDULER_LEASE_SECONDS": "10"})
    holders: list[subprocess.Popen[str]] = []
    armed: list[bool] = []  # set once scan-now is accepted (the config's first scheduled run may fetch before)

    def lock_then_answer(_: ReceivedRequest) -> Route:
        # The first fetch once armed takes the lock before the site answers: the scan in flight must store into a
        # locked file.
        if armed and not holders:
            holder = subprocess.Popen([sys.executable, str(holder_script), str(replica.workdir / "data" /
                                      "techscaniq.db")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            holders.append(holder)
        return Route(body="<html><body>shop</body></html>")

    async with LocalSite() as site:
        site.set("/", lock_then_answer)
        replica.start()
        try:
            await replica.wait_ready()
            # 20 s: far beyond the few seconds a lock held by another process is waited for, short of the 30 s
            # busy timeout every write hung for before.
            async with httpx.AsyncClient(base_url=replica.api, headers={"X-API-Key": KEY}, timeout=20) as api:
                created = await api.post("/api/v1/configs", json={
                    "name": "shop", "url": site.url("/"), "schedule": {"type": "interval", "expression": "1d"}})
                assert created.status_code == 201, created.text
                config_id = created.json()["id"]
                accepted = await api.post(f"/api/v1/configs/{config_id}/scan")
                assert accepted.status_code == 202, accepted.text
                scan_id = accepted.json()["scan_id"]
                armed.append(True)

                async def locked_reported() -> bool:
                    return "locked by another process" in (await api.get("/health")).text

                await eventually(locked_reported, within=60, every=0.2)
                holder = holders[0]
                named = f"pid {holder.pid} ({sys.executable} {holder_script}"
                database = (await api.get("/health")).json()["components"]["database"]
                assert database["status"] == "degraded"
                assert "writes failing since" in database["detail"] and named in database["detail"], database
                assert (await api.get("/ready")).status_code == 503

                refused = await api.post("/api/v1/configs", json={
                    "name": "during", "url": site.url("/"), "schedule": {"type": "interval", "expression": "1d"}})
                assert refused.status_code == 503, refused.text
                assert refused.headers["Retry-After"] == "10"
                assert refused.json()["error"] == "storage_unavailable"
                assert named in refused.json()["detail"]
                assert [c["name"] for c in (await api.get("/api/v1/configs")).json()] == ["shop"]  # reads work

                assert holder.stdin is not None
                holder.stdin.close()
                assert holder.wait() == 0

                async def ready() -> bool:
                    return (await api.get("/ready")).status_code == 200

                await eventually(ready, within=30, every=0.2)

                async def scan_stored() -> bool:
                    return (await api.get(f"/api/v1/scans/{scan_id}")).status_code == 200

                await eventually(scan_stored, within=60, every=0.5)  # the accepted scan-now is not lost
                assert (await api.post("/api/v1/configs", json={
                    "name": "after", "url": site.url("/"), "schedule": {"type": "interval", "expression": "1d"},
                    "paused": True})).status_code == 201
                names = sorted(c["name"] for c in (await api.get("/api/v1/configs")).json())
                assert names == ["after", "shop"]  # nothing of the refused request was stored
        finally:
            for holder in holders:
                if holder.poll() is None:
                    holder.kill()
                    holder.wait()
            replica.stop()
    output = replica.output(tail=1_000_000)
    assert output.count("database writes failing") == 1, output[-3000:]
    assert output.count("database writes work again") == 1, output[-3000:]
