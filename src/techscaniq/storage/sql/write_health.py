"""Whether the database takes writes right now.

A database can answer `SELECT 1` while it refuses every write: the disk is full, the data directory was remounted
read-only, another process holds the SQLite file's lock, PostgreSQL is a standby or out of space. `/health` and
`/ready` must say so, and a write must answer 503 with the reason instead of 500. SQLAlchemy hands every driver
error to `handle_error`, where it is classified; the next write that commits, or a probe write while writes fail,
clears the state again.
"""

from __future__ import annotations

import errno
import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine

from techscaniq.domain.common import utcnow

log = logging.getLogger(__name__)

# What SQLite says when the environment, not the statement, is at fault.
_SQLITE_UNAVAILABLE = ("database or disk is full", "disk i/o error", "readonly database", "unable to open database",
                       "database is locked", "locking protocol", "no space left")
# A file opened while it could not be written stays read-only for the connection's life: reopen it.
_SQLITE_REOPEN = ("readonly database", "unable to open database", "disk i/o error")
# PostgreSQL SQLSTATE classes: connection exception, insufficient resources, operator intervention, system error;
# and 25006, a write in a read-only transaction (a standby, or default_transaction_read_only).
_PG_CLASSES = ("08", "53", "57", "58")
_PG_STATES = ("25006",)
MIN_FREE_BYTES = 1024 * 1024  # what a probe wants free besides its own write before it says writes work
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC", "UPSERT", "MERGE ")


def unavailable_reason(error: BaseException) -> str | None:
    """Why the database cannot take the request now, or None when the error is the request's own (a constraint,
    a bad statement): the first is worth a retry later, the second is not."""
    if isinstance(error, exc.TimeoutError):  # the pool had no connection to give within its timeout
        return "no database connection free (pool timeout)"
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return f"the database connection was lost ({_first_line(error.orig)})"
        original = error.orig
        state = str(getattr(original, "sqlstate", None) or getattr(original, "pgcode", None) or "")
        if state and (state.startswith(_PG_CLASSES) or state in _PG_STATES):
            return _first_line(original)
        message = _first_line(original)
        if any(marker in message.lower() for marker in _SQLITE_UNAVAILABLE):
            return message
        return None
    if isinstance(error, ConnectionError | TimeoutError):
        return f"the database does not answer ({type(error).__name__}: {error})"
    return None


@dataclass(frozen=True)
class WriteFailure:
    since: datetime
    reason: str

    def describe(self) -> str:
        return f"writes failing since {self.since:%Y-%m-%d %H:%M:%S}Z: {self.reason}"


class WriteHealth:
    """The last storage failure of a write, until a write commits again."""

    def __init__(self) -> None:
        self.failure: WriteFailure | None = None

    def watch(self, engine: AsyncEngine) -> None:
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "handle_error", self._on_error)
        event.listen(sync_engine, "before_cursor_execute", self._on_statement)
        event.listen(sync_engine, "commit", self._on_commit)
        event.listen(sync_engine.pool, "checkin", self._on_checkin)

    def failed(self, reason: str) -> None:
        if self.failure is None:
            self.failure = WriteFailure(utcnow(), reason)
            log.error("database writes failing: %s (requests that write answer 503 until it recovers)", reason)

    def recovered(self) -> None:
        if self.failure is not None:
            log.warning("database writes work again (failing since %s)", f"{self.failure.since:%H:%M:%S}Z")
            self.failure = None

    def _on_error(self, context: Any) -> None:
        reason = unavailable_reason(context.sqlalchemy_exception or context.original_exception)
        if reason is None:
            return
        if context.connection is not None:
            # The write or its commit failed: nothing recovered (a stale "wrote" made the next read-only commit on
            # this connection say "work again" while the file was still locked).
            context.connection.info.pop("wrote", None)
            context.connection.info.pop("committing", None)
        self.failed(reason)
        if context.engine is not None and context.engine.dialect.name == "sqlite" and any(
                marker in reason.lower() for marker in _SQLITE_REOPEN):
            context.is_disconnect = True  # the pool drops this connection; the next one opens the file afresh

    def _on_statement(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip()[:6].upper() in _WRITES:
            conn.info["wrote"] = True

    def _on_commit(self, conn: Any) -> None:
        # Runs just before the driver commits, so it only marks the write; a commit that then fails (a full disk
        # often fails only there) clears the mark in handle_error, and the connection's return to the pool says
        # the commit went through. (Declaring recovery here logged "work again" and "failing" for one write.)
        if conn.info.pop("wrote", False):
            conn.info["committing"] = True

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        if record.info.pop("committing", False):
            self.recovered()


async def probe_write(engine: AsyncEngine) -> None:
    """A write that changes nothing but must reach the disk (SQLite rewrites the header page; PostgreSQL assigns a
    transaction id, which a standby or read-only transaction refuses). Raises what the database says."""
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            version = int((await conn.exec_driver_sql("PRAGMA user_version")).scalar() or 0)
            await conn.exec_driver_sql(f"PRAGMA user_version = {version}")
            _room_left(engine.url.database)
        else:
            await conn.exec_driver_sql("SELECT txid_current()")


def _room_left(database: str | None) -> None:
    """The header rewrite fits in pages SQLite already has (a checkpointed WAL is reused), so on a full disk it
    succeeds while real writes fail: recovery also needs room on the file system."""
    if not database or database == ":memory:":
        return
    free = shutil.disk_usage(Path(database).resolve().parent).free
    if free < MIN_FREE_BYTES:
        raise OSError(errno.ENOSPC, f"database or disk is full: {free} bytes free on the database's file system")


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
