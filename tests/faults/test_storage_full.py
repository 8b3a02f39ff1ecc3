"""A full disk under a running embedded replica: writes answer 503 with Retry-After and the reason, nothing of them
is stored, reads keep working, /health says degraded and /ready fails — and all of it clears by itself once the
disk has room again, with one log line each way. A real process on a real (small, tmpfs) filesystem."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.scaleout.replicas import Replica
from tests.support.small_disk import fill, small_disk
from tests.support.waiting import eventually

KEY = "faults-disk-0123456789"


def _config(name: str) -> dict[str, object]:
    return {"name": name, "url": f"https://{name}.example", "paused": True,
            "schedule": {"type": "interval", "expression": "1d"}}


async def test_a_full_disk_answers_503_and_recovers_by_itself(tmp_path: Path) -> None:
    replica = Replica("disk", tmp_path / "replica", {"API_KEYS": f"org-d:{KEY}"})
    with small_disk(replica.workdir / "data", megabytes=48) as data:
        replica.start()
        try:
            await replica.wait_ready()
            async with httpx.AsyncClient(base_url=replica.api, headers={"X-API-Key": KEY}, timeout=60) as api:
                assert (await api.post("/api/v1/configs", json=_config("before"))).status_code == 201
                filler = fill(data)

                refused = await api.post("/api/v1/configs", json=_config("during"))
                assert refused.status_code == 503, refused.text
                assert refused.headers["Retry-After"] == "10"
                assert refused.json()["error"] == "storage_unavailable"
                assert "full" in refused.json()["detail"]

                health = (await api.get("/health")).json()
                assert health["status"] == "degraded"
                assert health["components"]["database"]["status"] == "degraded"
                assert "writes failing since" in health["components"]["database"]["detail"]
                assert (await api.get("/ready")).status_code == 503
                listed = await api.get("/api/v1/configs")  # reads still work
                assert listed.status_code == 200
                assert [c["name"] for c in listed.json()] == ["before"]

                filler.unlink()

                async def ready() -> bool:
                    return (await api.get("/ready")).status_code == 200

                await eventually(ready, within=30, every=0.5)
                assert (await api.get("/health")).json()["components"]["database"]["status"] == "running"
                assert (await api.post("/api/v1/configs", json=_config("after"))).status_code == 201
                names = sorted(c["name"] for c in (await api.get("/api/v1/configs")).json())
                assert names == ["after", "before"]  # nothing of the refused request was stored
        finally:
            replica.stop()
    output = replica.output(tail=1_000_000)
    assert output.count("database writes failing") == 1, output[-3000:]
    assert output.count("database writes work again") == 1, output[-3000:]

