"""Waiting for SQLite's write lock without hanging on another process's.

SQLite's busy_timeout waits blindly: with another process holding the file (`BEGIN EXCLUSIVE` in a sqlite3 shell,
a backup tool, a second server on the same data directory) every write hung the whole 30 s before it failed.
Here a write waits in short attempts and, between them, looks at who holds the lock (Linux's /proc/locks):

- our own connections (one writer at a time): the write waits up to OWN_WAIT_SECONDS, as before;
- another process: a short grace (a CLI command's transaction ends well within it), then the write fails with
  "database is locked by another process: pid N (its command line)", which write_health turns into a 503 and
  /health's reason;
- while another process is known to hold it (the write health says so), a write tries once and fails at once,
  so neither the API nor /health's probe write waits again until the lock is gone.

Without /proc/locks (not Linux) nobody can be named, and a write waits as for our own connections.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

ATTEMPT_MILLISECONDS = 200  # SQLite's own busy wait per attempt (PRAGMA busy_timeout)
OWN_WAIT_SECONDS = 30.0
FOREIGN_GRACE_SECONDS = 3.0
LOCKED_BY_ANOTHER = "database is locked by another process"
_WAL_WRITE_LOCK = 120  # the byte of the -shm file a WAL writer locks (sqlite3 wal.c: WALINDEX_LOCK_OFFSET + 0)
_PENDING_BYTE = 0x40000000  # rollback-journal locks live from here on (sqlite3 os.h)
_WAITABLE = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY)
_LOCKS = Path("/proc/locks")
_SHOWN_COMMAND = 120  # characters of the holder's command line


def lock_holder(database: str) -> str | None:
    """'pid N (command line)' of another process holding the database's write lock, or None (nobody else holds
    it, or this system has no /proc/locks to tell)."""
    try:
        locks = _LOCKS.read_text()
    except OSError:
        return None
    files = {}
    for path, is_shm in ((database, False), (f"{database}-shm", True)):
        try:
            status = os.stat(path)
        except OSError:
            continue
        files[(os.major(status.st_dev), os.minor(status.st_dev), status.st_ino)] = is_shm
    for line in locks.splitlines():
        # "1: POSIX  ADVISORY  WRITE 4321 fe:00:9979336 120 120"; a waiter's line has "->" and holds nothing.
        fields = line.split()
        if len(fields) < 8 or "->" in fields or fields[1] != "POSIX" or fields[3] != "WRITE":
            continue
        pid, device, start, end = fields[4], fields[5].split(":"), fields[6], fields[7]
        if not pid.isdigit() or int(pid) == os.getpid() or len(device) != 3:
            continue
        try:
            key = (int(device[0], 16), int(device[1], 16), int(device[2]))
            first, last = int(start), (None if end == "EOF" else int(end))
        except ValueError:
            continue
        if key not in files:
            continue
        if files[key]:  # the -shm file: the byte a WAL writer locks
            held = first <= _WAL_WRITE_LOCK and (last is None or last >= _WAL_WRITE_LOCK)
        else:  # the database file: a rollback-journal writer's locks (in WAL mode others hold only shared ones)
            held = last is None or last >= _PENDING_BYTE
        if held:
            return f"pid {pid} ({_command_line(int(pid))})"
    return None


def wait_for_write_lock(engine: AsyncEngine, locked_out: Callable[[], bool]) -> None:
    """Every statement of `engine` (a file-backed SQLite engine) waits for the write lock as described above;
    `locked_out()` says whether another process is already known to hold it."""
    database = engine.url.database
    if not database or database == ":memory:":
        return
    path = str(Path(database).resolve())

    def run(attempt: Callable[[], Any]) -> None:
        started = time.monotonic()
        while True:
            try:
                attempt()
                return
            except sqlite3.OperationalError as error:
                # A busy timeout; SQLITE_BUSY_SNAPSHOT (a stale read snapshot) cannot succeed by waiting.
                if getattr(error, "sqlite_errorcode", None) not in _WAITABLE:
                    raise
                waited = time.monotonic() - started
                holder = lock_holder(path)
                if holder is not None and (locked_out() or waited >= FOREIGN_GRACE_SECONDS):
                    raise sqlite3.OperationalError(f"{LOCKED_BY_ANOTHER}: {holder}") from error
                if holder is None and waited >= OWN_WAIT_SECONDS:
                    raise

    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool:
        run(lambda: cursor.execute(statement, parameters))
        return True

    @event.listens_for(sync_engine, "do_execute_no_params")
    def _execute_no_params(cursor: Any, statement: str, _context: Any) -> bool:
        run(lambda: cursor.execute(statement))
        return True

    @event.listens_for(sync_engine, "do_executemany")
    def _executemany(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool:
        run(lambda: cursor.executemany(statement, parameters))
        return True


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "process gone"
    command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    if not command:
        return "unknown command"
    return command if len(command) <= _SHOWN_COMMAND else command[: _SHOWN_COMMAND - 1] + "…"
