"""What every SQL repository shares: the engine and the dialect-aware "insert unless present"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from techscaniq.domain.common import REVEAL_SECRETS


class SqlRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def insert_ignoring_duplicates(self, table: Table, index_elements: list[str]) -> Insert:
        """INSERT ... ON CONFLICT DO NOTHING: the basis of idempotent writes."""
        if self._engine.dialect.name == "postgresql":
            return pg_insert(table).on_conflict_do_nothing(index_elements=index_elements)
        return sqlite_insert(table).on_conflict_do_nothing(index_elements=index_elements)


def document(model: Any) -> dict[str, Any]:
    """A domain object as stored: JSON, secrets included (the API masks them, storage must not)."""
    return model.model_dump(mode="json", context=REVEAL_SECRETS)  # type: ignore[no-any-return]
