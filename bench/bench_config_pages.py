"""Config listing pages at scale: 100,000 configs in one organization on the embedded SQLite database.

    .venv/bin/python -m bench.bench_config_pages [--configs 100000] [--page 1000]

Reports the time of one 1,000-config page deep in the listing (the middle of it), read
- by offset with the (organization_id, created_at, id) index dropped (the table as it was before migration 10:
  every call sorts the organization's configs),
- by offset with the index (an index walk that still reads and drops every row before the offset),
- by keyset (`find(after=...)`, the API's `cursor`: an index range),
each as a ratio to the reference measured in the same run: reading one config by id (`configs.get`).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from techscaniq.domain.config import MonitoringConfig
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.base import document
from techscaniq.storage.sql.tables import CONFIG_LISTING_INDEXES, monitoring_configs

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rows(count: int) -> list[dict[str, Any]]:
    template = MonitoringConfig.model_validate({
        "id": "c", "organization_id": "org", "name": "site", "url": "https://site.example.test/",
        "schedule": {"type": "interval", "expression": "1h"},
    })
    found = []
    for index in range(count):
        # Creation times out of id order, as configs added by many users are.
        created = T0 + timedelta(seconds=(index * 7919) % count)
        config = template.model_copy(update={"id": f"cfg-{index:06d}", "created_at": created, "updated_at": created})
        found.append({"id": config.id, "organization_id": "org", "name": config.name, "url": config.url,
                      "paused": False, "document": document(config), "created_at": created, "updated_at": created})
    return found


async def timed(call: Callable[[], Awaitable[object]], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        begin = time.perf_counter()
        await call()
        best = min(best, time.perf_counter() - begin)
    return best


async def main_async(count: int, page: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=None, data_dir=Path(tmp))  # type: ignore[call-arg]
        storage = SqlStorage(settings)
        await storage.start()
        try:
            batch = rows(count)
            async with storage.engine.begin() as conn:
                for start in range(0, count, 5000):
                    await conn.execute(insert(monitoring_configs), batch[start: start + 5000])
                await conn.execute(text("ANALYZE"))
            offset = count // 2
            [last] = await storage.configs.find("org", limit=1, offset=offset - 1)
            after = (last.created_at, last.id)
            by_offset = await storage.configs.find("org", limit=page, offset=offset)
            by_keyset = await storage.configs.find("org", limit=page, after=after)
            assert [c.id for c in by_offset] == [c.id for c in by_keyset]
            reference = await timed(lambda: storage.configs.get("cfg-000001"))
            keyset = await timed(lambda: storage.configs.find("org", limit=page, after=after))
            indexed_offset = await timed(lambda: storage.configs.find("org", limit=page, offset=offset))
            async with storage.engine.begin() as conn:
                await conn.execute(text("DROP INDEX ix_monitoring_configs_org_created"))
                await conn.execute(text("DROP INDEX ix_monitoring_configs_created"))
            unindexed = await timed(lambda: storage.configs.find("org", limit=page, offset=offset), repeat=3)
            async with storage.engine.begin() as conn:
                for statement in CONFIG_LISTING_INDEXES:
                    await conn.execute(text(statement))
        finally:
            await storage.close()
    print(f"{count:,} configs, a {page:,}-config page at offset {offset:,}; reference configs.get: "
          f"{reference * 1000:.2f} ms")
    for label, seconds in (("offset, no index (before)", unindexed), ("offset, indexed", indexed_offset),
                           ("keyset (cursor)", keyset)):
        print(f"  {label:<26} {seconds * 1000:8.1f} ms  {seconds / reference:8.1f}x the reference")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main_async(args.configs, args.page))


if __name__ == "__main__":
    main()
