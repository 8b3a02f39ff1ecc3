"""Scratch PostgreSQL databases for tests and benchmarks: created empty, dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from techscaniq.storage.metrics_schema import plain_postgres_url


@contextlib.asynccontextmanager
async def fresh_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the server of `server_url`; yields its URL, drops it on exit."""
    url = plain_postgres_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        for attempt in range(20):
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except asyncpg.exceptions.InsufficientPrivilegeError:
                # An autovacuum worker (a superuser process FORCE may not end) is still on it: it finishes soon.
                if attempt == 19:
                    raise
                await asyncio.sleep(0.5)
        await admin.close()
