"""Who holds SQLite's write lock: another process is named (and waited for only briefly, see
tests/faults/test_sqlite_locked.py), while our own connections still wait for each other as long as they need."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from sqlalchemy import text

from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.sqlite_lock import ATTEMPT_MILLISECONDS, lock_holder

HOLDER = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE');"
          " print('held', flush=True); sys.stdin.read()")
INSERT = text("INSERT INTO processed_events (event_id, consumer, processed_at) VALUES (:id, 'test', '2030-01-01')")


def _hold(database: str) -> subprocess.Popen[str]:
    """Another process with the write lock, once it has it (it holds it until its stdin closes)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, database], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


async def test_another_process_holding_the_write_lock_is_named_and_our_own_is_not(settings: Settings) -> None:
    storage = SqlStorage(settings)
    await storage.start()
    database = str(settings.sqlite_path)
    try:
        assert lock_holder(database) is None
        holder = _hold(database)
        named = lock_holder(database)
        assert named is not None and named.startswith(f"pid {holder.pid} ({sys.executable} -c import sqlite3"), named
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()
        assert lock_holder(database) is None

        async with storage.engine.begin() as conn:  # our own write lock: not another process's
            await conn.execute(INSERT, {"id": "own"})
            assert lock_holder(database) is None
    finally:
        await storage.close()


async def test_our_own_writers_wait_for_each_other_beyond_one_attempt(settings: Settings) -> None:
    storage = SqlStorage(settings)
    await storage.start()
    try:
        async def second_write() -> None:
            async with storage.engine.begin() as conn:
                await conn.execute(INSERT, {"id": "second"})

        async with storage.engine.begin() as conn:
            await conn.execute(INSERT, {"id": "first"})  # holds the write lock until the block commits
            waiting = asyncio.create_task(second_write())
            await asyncio.sleep(3 * ATTEMPT_MILLISECONDS / 1000)  # a few attempts of the second writer
            assert not waiting.done()  # still waiting: neither failed nor refused as "another process"
        await waiting
        async with storage.engine.connect() as conn:
            stored = (await conn.execute(text("SELECT event_id FROM processed_events ORDER BY event_id"))).scalars()
            assert list(stored) == ["first", "second"]
        assert storage.write_health.failure is None
    finally:
        await storage.close()
