"""Storage benchmark: bytes the core database grows by per check of an unchanged page, every step on.

    .venv/bin/python -m bench.bench_storage [--scans 100] [--database-url postgresql://...]

One embedded system scans the same local page `--scans` times (scan-now, one after another). Reports per
scan: the growth of the SQLite file (after a WAL checkpoint) and the bytes of each growing table
(`techscaniq storage stats`), next to the reference measured in the same run: the page's own size, raw and
zlib-compressed (what storing a body per scan costs). The page is a real one from ../shared/corpus/pages when
present, otherwise a synthetic 40 KB page. With --database-url (PostgreSQL; its tables are dropped first) the
growth is that of every table and index (pg_relation_size) instead of the SQLite file."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import zlib
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tests.support.testsite import LocalSite

from bench.bench_scheduler import load_pages
from techscaniq.settings import Settings
from techscaniq.storage.sql.tables import metadata
from techscaniq.system import MonitoringSystem


def btree_bytes(path: Path) -> dict[str, int]:
    """Bytes of pages per table and index (SQLite's dbstat): where the growth goes, indexes included."""
    with sqlite3.connect(path) as db:
        return {name: int(size) for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")}


def database_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
        return int(pages * db.execute("PRAGMA page_size").fetchone()[0])


async def postgres_bytes(system: MonitoringSystem) -> dict[str, int]:
    query = text("SELECT relname, pg_relation_size(oid) FROM pg_class "
                 "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i')")
    async with system.storage.engine.connect() as conn:
        return {name: int(size) for name, size in await conn.execute(query)}


async def sizes(system: MonitoringSystem, settings: Settings) -> tuple[int, dict[str, int]]:
    """(bytes of the whole database, bytes per table and index)."""
    if settings.database_url:
        trees = await postgres_bytes(system)
        return sum(trees.values()), trees
    return database_bytes(settings.sqlite_path), btree_bytes(settings.sqlite_path)


async def main(count: int, database_url: str | None) -> None:
    [page] = load_pages(1)
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(_env_file=None, data_dir=Path(scratch) / "data", log_dir=Path(scratch) / "logs",  # type: ignore[call-arg]
                            log_file=Path(scratch) / "run.log", allow_private_targets=True, http_port=0,
                            websocket_port=0, min_scan_interval_seconds=0, database_url=database_url,
                            kafka_servers=None, redis_url=None, metrics_database_url=None, elasticsearch_url=None)
        if database_url:
            engine = create_async_engine(settings.storage_url)
            async with engine.begin() as conn:
                await conn.run_sync(metadata.drop_all)
            await engine.dispose()
        async with LocalSite() as site:
            site.route("/", body=page)
            async with MonitoringSystem(settings, serve_http=False, configure_logs=False) as system:
                config_id = await system.add_monitoring_config({
                    "organization_id": "bench", "name": "unchanged", "url": site.url("/"),
                    "schedule": {"type": "interval", "expression": "1d"},
                })
                await system.scan_now(config_id, wait=True)  # the first scan stores the page once
                await system.bus.join()
                (before_file, before_trees), before = await sizes(system, settings), await system.storage.stats()
                for _ in range(count):
                    await system.scan_now(config_id, wait=True)
                await system.bus.join()
                (after_file, after_trees), after = await sizes(system, settings), await system.storage.stats()
    raw = len(page.encode())
    packed = len(zlib.compress(page.encode(), 6))
    growth = (after_file - before_file) / count
    print(f"scans={count} page={raw:,} B raw, {packed:,} B zlib (the reference: a body stored per scan)")
    print(f"database growth per scan: {growth:,.0f} B = {growth / packed:.4f}x the compressed page")
    for (table, rows_before, bytes_before), (_, rows_after, bytes_after) in zip(before, after, strict=True):
        if rows_after != rows_before:
            print(f"  {table:<20} +{(rows_after - rows_before) / count:5.1f} rows/scan "
                  f"+{(bytes_after - bytes_before) / count:9,.0f} B/scan of documents")
    print("pages per scan, by table and index:")
    for name, size in sorted(after_trees.items(), key=lambda item: before_trees.get(item[0], 0) - item[1]):
        if size != before_trees.get(name, 0):
            print(f"  {name:<32} {(size - before_trees.get(name, 0)) / count:+9,.1f} B/scan")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=100)
    parser.add_argument("--database-url", help="PostgreSQL to measure instead of SQLite (its tables are dropped)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.scans, arguments.database_url))
