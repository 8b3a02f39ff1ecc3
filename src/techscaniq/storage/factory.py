"""Chooses the storage from settings: PostgreSQL when DATABASE_URL is set, SQLite otherwise."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


def create_storage(settings: Settings) -> SqlStorage:
    return SqlStorage(settings)


@contextlib.asynccontextmanager
async def opened_storage(settings: Settings) -> AsyncIterator[SqlStorage]:
    """Started (migrated) storage, closed afterwards: what a CLI command works on."""
    storage = create_storage(settings)
    await storage.start()
    try:
        yield storage
    finally:
        await storage.close()
