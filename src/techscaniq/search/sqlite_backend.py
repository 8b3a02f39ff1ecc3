"""The embedded search backend: SQLite FTS5 in DATA_DIR/search/, nothing to install.

Derived data in its own database file, never in the core database: deleting the folder loses nothing
(`techscaniq search reindex` rebuilds it). A file named `current` names the live database, the way an
OpenSearch alias names its index: a rebuild fills a new file and then replaces `current` in one rename, so
searches keep answering from the old file until the new one is complete, in every process.

Per kind (sites, changes, alerts): a row table with the sorted and compared values, a terms table with one
row per keyword and technology (version keys compare as strings), and an FTS5 table for free text."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from techscaniq.domain.common import new_id
from techscaniq.search.backend import FACET_TECHNOLOGIES, FACET_VERSIONS, Facets, SearchPage
from techscaniq.search.documents import week_start
from techscaniq.search.query import KINDS, Changed, Keyword, Kind, Query, Rank, Sort, Tech, Text
from techscaniq.search.rows import Row, RowWriter

T = TypeVar("T")
POINTER = "current"
_SORT_COLUMNS = {"name": "name", "url": "url", "grade": "rank", "score": "score", "scanned": "scanned",
                 "changed": "changed", "impact": "rank", "severity": "rank"}
_RANK_COLUMNS = {"grade": "rank", "impact": "rank", "severity": "rank", "score": "score"}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _schema(kind: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {kind} (
  rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, org TEXT NOT NULL, site_id TEXT NOT NULL, name TEXT,
  url TEXT, rank INTEGER, score INTEGER, changed TEXT, scanned TEXT, bucket TEXT, bucket_type TEXT, grade TEXT,
  result TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS {kind}_org_name ON {kind}(org, name);
CREATE INDEX IF NOT EXISTS {kind}_org_changed ON {kind}(org, changed);
CREATE INDEX IF NOT EXISTS {kind}_site ON {kind}(site_id);
CREATE TABLE IF NOT EXISTS {kind}_terms (
  rid INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, display TEXT, version TEXT, vkey TEXT);
CREATE INDEX IF NOT EXISTS {kind}_terms_value ON {kind}_terms(field, value, vkey, rid);
CREATE INDEX IF NOT EXISTS {kind}_terms_rid ON {kind}_terms(rid);
CREATE VIRTUAL TABLE IF NOT EXISTS {kind}_text USING fts5(body, tokenize='unicode61 remove_diacritics 2');
"""

# The facets go from the organization's sites to their technologies, grades and weeks of changes, never through
# other organizations' rows, by covering indexes (no table row is read). Without them: 0.4x plain SQL.
_FACET_INDEXES = """
CREATE INDEX IF NOT EXISTS sites_terms_facets ON sites_terms(rid, field, value, version, display);
CREATE INDEX IF NOT EXISTS sites_org_grade ON sites(org, grade);
CREATE INDEX IF NOT EXISTS changes_org_bucket ON changes(org, bucket, bucket_type);
"""


class _Database:
    """One SQLite file, used from one thread (sqlite3 connections are not shared between threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-sqlite")
        self._connection: sqlite3.Connection | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, work)

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._connection is None:
            self._connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            for kind in KINDS:
                self._connection.executescript(_schema(kind))
            self._connection.executescript(_FACET_INDEXES)
        return work(self._connection)

    async def close(self) -> None:
        def close(_: sqlite3.Connection) -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        if self._connection is not None:
            await self.run(close)
        self._executor.shutdown(wait=False)


def _write(connection: sqlite3.Connection, rows: list[Row]) -> None:
    connection.execute("BEGIN")
    try:
        for row in rows:
            kind = row.kind
            rid = connection.execute(
                f"INSERT INTO {kind} (id, org, site_id, name, url, rank, score, changed, scanned, bucket, bucket_type,"
                " grade, result) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET org=excluded.org,"
                " site_id=excluded.site_id, name=excluded.name, url=excluded.url, rank=excluded.rank,"
                " score=excluded.score, changed=excluded.changed, scanned=excluded.scanned, bucket=excluded.bucket,"
                " bucket_type=excluded.bucket_type, grade=excluded.grade, result=excluded.result RETURNING rid",
                (row.id, row.organization_id, row.site_id, row.name, row.url, row.rank, row.score,
                 _time(row.changed), _time(row.scanned), row.bucket, row.bucket_type, row.grade, row.result),
            ).fetchone()[0]
            connection.execute(f"DELETE FROM {kind}_terms WHERE rid = ?", (rid,))
            connection.execute(f"DELETE FROM {kind}_text WHERE rowid = ?", (rid,))
            terms: list[tuple[int, str, str, str | None, str | None, str | None]]
            terms = [(rid, name, value, None, None, None) for name, values in row.keywords.items() for value in values]
            # One term per technology and version (a technology found twice counts its site once per version).
            terms += {(t.name, t.version): (rid, "tech", t.name, t.display, t.version, t.version_key)
                      for t in reversed(row.techs)}.values()
            if row.grade is not None:
                terms.append((rid, "grade", row.grade.lower(), row.grade, None, None))
            connection.executemany(f"INSERT INTO {kind}_terms VALUES (?,?,?,?,?,?)", terms)
            connection.execute(f"INSERT INTO {kind}_text (rowid, body) VALUES (?, ?)", (rid, row.text))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _fts(text: Text) -> str:
    quoted = '"' + text.words.replace('"', '""') + '"'
    return quoted if text.phrase else quoted + "*"


def _where(query: Query, organization_id: str, alias: str = "") -> tuple[str, list[Any]]:
    kind, a = query.kind, alias
    clauses: list[str] = [f"{a}org = ?"]
    params: list[Any] = [organization_id]

    def member(sql: str, args: list[Any], negated: bool) -> None:
        clauses.append(f"{a}rid {'NOT IN' if negated else 'IN'} ({sql})")
        params.extend(args)

    for term in query.terms:
        if isinstance(term, Text):
            member(f"SELECT rowid FROM {kind}_text WHERE {kind}_text MATCH ?", [_fts(term)], term.negated)
        elif isinstance(term, Keyword):
            member(f"SELECT rid FROM {kind}_terms WHERE field = ? AND value = ?", [term.field, term.value],
                   term.negated)
        elif isinstance(term, Tech):
            sql = f"SELECT rid FROM {kind}_terms WHERE field = 'tech'"
            args: list[Any] = []
            if term.name is not None:
                sql += " AND value = ?"
                args.append(term.name)
            if term.version is not None:
                sql += f" AND vkey {term.op} ?"
                args.append(term.version)
            member(sql, args, term.negated)
        elif isinstance(term, Rank):
            column = a + _RANK_COLUMNS[term.field]
            condition = f"{column} {term.op} ?"
            clauses.append(f"({column} IS NULL OR NOT ({condition}))" if term.negated else condition)
            params.append(term.value)
        elif isinstance(term, Changed):
            parts: list[str] = []
            args = []
            if term.after is not None:
                parts.append(f"{a}changed > ?")
                args.append(_time(term.after))
            if term.before is not None:
                parts.append(f"{a}changed < ?")
                args.append(_time(term.before))
            condition = " AND ".join(parts)
            clauses.append(f"({a}changed IS NULL OR NOT ({condition}))" if term.negated else condition)
            params.extend(args)
    return " AND ".join(clauses), params


class SqliteSearchBackend(RowWriter):
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = f"SQLite FTS5 {directory}"
        self._live: _Database | None = None
        self._live_name: str | None = None
        self._rebuilds: list[_SqliteRebuild] = []
        self._lock = asyncio.Lock()

    # ---- the live file ---------------------------------------------------------------------------------

    def _pointer(self) -> str | None:
        try:
            return (self.directory / POINTER).read_text().strip() or None
        except FileNotFoundError:
            return None

    async def _database(self) -> _Database:
        """The live database; reopened when another process (or a rebuild) swapped in a new one."""
        name = self._pointer()
        if self._live is not None and name == self._live_name:
            return self._live
        async with self._lock:
            name = self._pointer()
            if name is None:
                name = f"search-{new_id()}.db"
                self.directory.mkdir(parents=True, exist_ok=True)
                _replace_pointer(self.directory, name)
            if self._live is None or name != self._live_name:
                old, self._live, self._live_name = self._live, _Database(self.directory / name), name
                if old is not None:
                    await old.close()
            return self._live

    async def start(self) -> None:
        await (await self._database()).run(lambda c: None)

    async def close(self) -> None:
        if self._live is not None:
            await self._live.close()
            self._live = None

    async def ping(self) -> bool:
        try:
            await (await self._database()).run(lambda c: c.execute("SELECT 1").fetchone())
        except (sqlite3.Error, OSError):
            return False
        return True

    async def refresh(self) -> None:
        """Writes are visible when they return."""

    # ---- writing ---------------------------------------------------------------------------------------

    async def _store(self, rows: list[Row]) -> None:
        await (await self._database()).run(lambda c: _write(c, rows))
        for rebuild in list(self._rebuilds):  # writes during a rebuild reach the new index too
            await rebuild.write(rows)

    async def delete_site(self, organization_id: str, site_id: str) -> None:
        def delete(connection: sqlite3.Connection) -> None:
            connection.execute("BEGIN")
            for kind in KINDS:
                rids = [r for (r,) in connection.execute(
                    f"SELECT rid FROM {kind} WHERE site_id = ? AND org = ?", (site_id, organization_id))]
                for rid in rids:
                    connection.execute(f"DELETE FROM {kind}_terms WHERE rid = ?", (rid,))
                    connection.execute(f"DELETE FROM {kind}_text WHERE rowid = ?", (rid,))
                    connection.execute(f"DELETE FROM {kind} WHERE rid = ?", (rid,))
            connection.execute("COMMIT")

        await (await self._database()).run(delete)

    # ---- reading ---------------------------------------------------------------------------------------

    async def search(self, organization_id: str, query: Query, sort: Sort, limit: int, offset: int) -> SearchPage:
        kind = query.kind
        where, params = _where(query, organization_id)
        column = _SORT_COLUMNS[sort.field]
        # Grades ascend from the best: a higher rank first.
        descending = not sort.descending if sort.field == "grade" else sort.descending
        order = f"({column} IS NULL), {column} {'DESC' if descending else 'ASC'}, id"

        def run(connection: sqlite3.Connection) -> SearchPage:
            total = connection.execute(f"SELECT count(*) FROM {kind} WHERE {where}", params).fetchone()[0]
            rows = connection.execute(f"SELECT result FROM {kind} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                                      [*params, limit, offset]).fetchall()
            return SearchPage(total, [json.loads(result) for (result,) in rows])

        return await (await self._database()).run(run)

    async def facets(self, organization_id: str, query: Query, weeks: int) -> Facets:
        where, params = _where(query, organization_id, "s.")
        since = week_start(datetime.now(UTC) - timedelta(weeks=max(0, weeks - 1)))

        # From the organization's sites (CROSS JOIN fixes that order) to their technologies (_FACET_INDEXES):
        # starting from the terms read every organization's technologies.
        techs_of_sites = f"FROM sites s CROSS JOIN sites_terms t ON t.rid = s.rid WHERE t.field = 'tech' AND {where}"

        def run(connection: sqlite3.Connection) -> Facets:
            sites = connection.execute(f"SELECT count(*) FROM sites s WHERE {where}", params).fetchone()[0]
            techs = connection.execute(
                f"SELECT t.value, max(t.display), count(DISTINCT t.rid) {techs_of_sites} GROUP BY t.value"
                " ORDER BY 3 DESC, 1 LIMIT ?", [*params, FACET_TECHNOLOGIES]).fetchall()
            # Every version in one grouped query; a site has one term per technology and version (see _write).
            by_tech: dict[str, list[tuple[str, int]]] = {}
            for value, version, count in connection.execute(
                    f"SELECT t.value, t.version, count(*) {techs_of_sites} AND t.version IS NOT NULL"
                    " GROUP BY t.value, t.version", params):
                by_tech.setdefault(value, []).append((version, count))
            technologies = []
            for value, display, count in techs:
                versions = sorted(by_tech.get(value, []), key=lambda pair: (-pair[1], pair[0]))[:FACET_VERSIONS]
                technologies.append({"name": display, "sites": count, "share": round(count / sites, 4) if sites else 0,
                                     "versions": [{"version": v, "sites": n} for v, n in versions]})
            grades = {grade or "none": count for grade, count in connection.execute(
                f"SELECT s.grade, count(*) FROM sites s WHERE {where} GROUP BY s.grade", params)}
            per_week = [{"week": week, "type": kind, "changes": count} for week, kind, count in connection.execute(
                "SELECT bucket, bucket_type, count(*) FROM changes WHERE org = ? AND bucket >= ?"
                " GROUP BY bucket, bucket_type ORDER BY bucket, bucket_type", (organization_id, since))]
            return Facets(sites, technologies, grades, per_week)

        return await (await self._database()).run(run)

    async def count(self, kind: Kind) -> int:
        result: int = await (await self._database()).run(
            lambda c: c.execute(f"SELECT count(*) FROM {kind}").fetchone()[0])
        return result

    # ---- rebuilding ------------------------------------------------------------------------------------

    async def begin_rebuild(self) -> _SqliteRebuild:
        self.directory.mkdir(parents=True, exist_ok=True)
        rebuild = _SqliteRebuild(self, f"search-{new_id()}.db")
        self._rebuilds.append(rebuild)
        return rebuild

    def _forget(self, rebuild: _SqliteRebuild) -> None:
        with contextlib.suppress(ValueError):
            self._rebuilds.remove(rebuild)


_pointer_lock = threading.Lock()


def _replace_pointer(directory: Path, name: str) -> None:
    with _pointer_lock:
        temporary = directory / f".{POINTER}.{os.getpid()}"
        temporary.write_text(name + "\n")
        os.replace(temporary, directory / POINTER)  # atomic: every reader sees the old name or the new one


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()


class _SqliteRebuild(RowWriter):
    def __init__(self, backend: SqliteSearchBackend, name: str) -> None:
        self._backend = backend
        self.name = name
        self._database = _Database(backend.directory / name)

    async def write(self, rows: list[Row]) -> None:
        await self._database.run(lambda c: _write(c, rows))

    async def _store(self, rows: list[Row]) -> None:
        await self.write(rows)

    async def commit(self) -> None:
        """Swap the new file in; the old one is deleted (processes still reading it reopen on their next query)."""
        await self._database.run(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
        await self._database.close()
        self._backend._forget(self)
        old = self._backend._pointer()
        _replace_pointer(self._backend.directory, self.name)
        await self._backend._database()
        if old is not None and old != self.name:
            _remove_database(self._backend.directory / old)

    async def abort(self) -> None:
        self._backend._forget(self)
        await self._database.close()
        _remove_database(self._backend.directory / self.name)
