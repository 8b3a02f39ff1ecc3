"""The scheduler's claim at scale: 100,000 configs of 100 organizations on the embedded SQLite database.

    .venv/bin/python -m bench.bench_claims [--configs 100000] [--due 5000] [--in-flight 500] [--claims 20]

Each claim (`configs.claim_due`, 50 runs) ranks organizations by the runs they have in flight, so it counts the
leased rows. Reports the mean time of a claim
- without the partial index of leased rows (the table as it was before migration 16: the count reads every row),
- with it,
each as a ratio to the reference measured in the same run: reading one config by id (`configs.get`).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text, update

from bench.bench_config_pages import timed
from techscaniq.domain.config import MonitoringConfig
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.base import document
from techscaniq.storage.sql.tables import LEASED_CONFIGS_INDEX
from techscaniq.storage.sql.tables import monitoring_configs as t

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ORGANIZATIONS = 100


def rows(count: int, due: int) -> list[dict[str, Any]]:
    template = MonitoringConfig.model_validate({
        "id": "c", "organization_id": "org", "name": "site", "url": "https://site.example.test/",
        "schedule": {"type": "interval", "expression": "1h"},
    })
    body = document(template)
    return [{"id": f"cfg-{index:06d}", "organization_id": f"org-{index % ORGANIZATIONS:03d}", "name": "site",
             "url": template.url, "paused": False, "document": body, "created_at": NOW, "updated_at": NOW,
             # `due` of them are due now, the rest spread over the coming hour
             "next_run_at": NOW - timedelta(seconds=index) if index < due else NOW + timedelta(seconds=index % 3600)}
            for index in range(count)]


async def reset(storage: SqlStorage, in_flight: int) -> None:
    """Every lease gone but those of the first `in_flight` configs (runs other replicas have in flight)."""
    async with storage.engine.begin() as conn:
        await conn.execute(update(t).values(lease_owner=None, lease_until=None))
        await conn.execute(update(t).where(t.c.id < f"cfg-{in_flight:06d}")
                           .values(lease_owner="other", lease_until=NOW + timedelta(minutes=5)))


async def claims(storage: SqlStorage, in_flight: int, count: int) -> float:
    await reset(storage, in_flight)
    begin = time.perf_counter()
    for _ in range(count):
        assert len(await storage.configs.claim_due(NOW, 50, 300, "bench")) == 50
    return (time.perf_counter() - begin) / count


async def main_async(count: int, due: int, in_flight: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=None, data_dir=Path(tmp))  # type: ignore[call-arg]
        storage = SqlStorage(settings)
        await storage.start()
        try:
            batch = rows(count, due)
            async with storage.engine.begin() as conn:
                for start in range(0, count, 5000):
                    await conn.execute(insert(t), batch[start: start + 5000])
                await conn.execute(text("ANALYZE"))
            reference = await timed(lambda: storage.configs.get("cfg-000001"))
            indexed = await claims(storage, in_flight, repeat)
            async with storage.engine.begin() as conn:
                await conn.execute(text("DROP INDEX ix_monitoring_configs_leased"))
            unindexed = await claims(storage, in_flight, repeat)
            async with storage.engine.begin() as conn:
                await conn.execute(text(LEASED_CONFIGS_INDEX))
        finally:
            await storage.close()
    print(f"{count:,} configs of {ORGANIZATIONS} organizations, {due:,} due, {in_flight:,} in flight; "
          f"mean of {repeat} claims of 50; reference configs.get: {reference * 1000:.2f} ms")
    for label, seconds in (("no leased index (before)", unindexed), ("leased index", indexed)):
        print(f"  {label:<25} {seconds * 1000:8.1f} ms  {seconds / reference:8.1f}x the reference")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5000)
    parser.add_argument("--in-flight", type=int, default=500)
    parser.add_argument("--claims", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main_async(args.configs, args.due, args.in_flight, args.claims))


if __name__ == "__main__":
    main()
