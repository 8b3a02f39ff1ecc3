"""Chooses the storage from settings: PostgreSQL when DATABASE_URL is set, SQLite otherwise."""

from __future__ import annotations

from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


def create_storage(settings: Settings) -> SqlStorage:
    return SqlStorage(settings)
