"""What every SQL repository shares: the engine and the dialect-aware "insert unless present"."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Insert, Select, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from techscaniq.domain.common import REVEAL_SECRETS, SecretCodec

M = TypeVar("M", bound=BaseModel)


def where_given(query: Select[Any], *conditions: tuple[ColumnElement[Any], object]) -> Select[Any]:
    """Adds `column == value` for each (column, value) whose value is not None: the optional filters
    (organization, config, status, ...) every listing takes."""
    for column, value in conditions:
        if value is not None:
            query = query.where(column == value)
    return query


STORED = {"stored": True}


class SqlRepository:
    """`secrets`: encrypts the secrets of documents written and decrypts them when read (configs)."""

    def __init__(self, engine: AsyncEngine, secrets: SecretCodec | None = None) -> None:
        self._engine = engine
        self._secrets = secrets
        self._stored = STORED if secrets is None else {**STORED, "secret_box": secrets}

    async def load_all(self, query: Select[Any], model: type[M]) -> list[M]:
        """Runs a query selecting a `document` column and returns the domain objects."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        # Stored documents passed the rules of their day: rules added later must not make them unreadable.
        return [model.model_validate(row.document, context=self._stored) for row in rows]

    async def load_page(self, table: Table, model: type[M], after: str | None, limit: int,
                        since: datetime | None = None, time_column: str = "") -> list[M]:
        """The rows after the id `after`, in id order (keyset): a walk over a whole table costs the same on its
        last page as on its first (OFFSET reads and discards every row before the page), and rows added or
        deleted during the walk never make another row come twice or go missing. `since`: only rows whose
        `time_column` is at or after it."""
        return await self.load_all(keyset_page(select(table.c.document), table, after, limit, since, time_column),
                                   model)

    async def load_one(self, query: Select[Any], model: type[M]) -> M | None:
        found = await self.load_all(query.limit(1), model)
        return found[0] if found else None

    async def release_leases_of(self, table: Table, owner: str | None) -> int:
        """Forget the leases (`lease_owner`, `lease_until`) of every row, or of one owner's rows."""
        query = update(table).where(table.c.lease_owner.is_not(None)).values(lease_owner=None, lease_until=None)
        if owner is not None:
            query = query.where(table.c.lease_owner == owner)
        async with self._engine.begin() as conn:
            return (await conn.execute(query)).rowcount

    async def count_where(self, table: Table, condition: ColumnElement[bool]) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(table).where(condition))).scalar_one())

    async def delete_where(self, table: Table, condition: ColumnElement[bool], batch: int = 2000) -> list[str]:
        """Delete the rows meeting `condition` a batch of ids at a time (short transactions: the pipeline keeps
        writing meanwhile); returns their ids."""
        deleted: list[str] = []
        while ids := await self._ids_where(table, condition, batch):
            async with self._engine.begin() as conn:
                await conn.execute(delete(table).where(table.c.id.in_(ids)))
            deleted += ids
        return deleted

    async def _ids_where(self, table: Table, condition: ColumnElement[bool], batch: int) -> list[str]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(select(table.c.id).where(condition).limit(batch))).scalars())

    def insert_ignoring_duplicates(self, table: Table, index_elements: list[str]) -> Insert:
        """INSERT ... ON CONFLICT DO NOTHING: the basis of idempotent writes."""
        if self._engine.dialect.name == "postgresql":
            return pg_insert(table).on_conflict_do_nothing(index_elements=index_elements)
        return sqlite_insert(table).on_conflict_do_nothing(index_elements=index_elements)


def document(model: Any, secrets: SecretCodec | None = None) -> dict[str, Any]:
    """A domain object as stored: JSON, secrets included (the API masks them, storage must not), encrypted
    with `secrets` when given."""
    context = REVEAL_SECRETS if secrets is None else {**REVEAL_SECRETS, "secret_box": secrets}
    return model.model_dump(mode="json", context=context)  # type: ignore[no-any-return]


def keyset_page(query: Select[Any], table: Table, after: str | None, limit: int, since: datetime | None = None,
                time_column: str = "") -> Select[Any]:
    """`query` limited to the page of `table`'s rows after the id `after`, in id order (see load_page)."""
    query = query.order_by(table.c.id).limit(limit)
    if after is not None:
        query = query.where(table.c.id > after)
    if since is not None:
        query = query.where(table.c[time_column] >= since)
    return query
