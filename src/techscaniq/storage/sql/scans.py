"""Scan results (history) and their response bodies. A scan is stored as a compact row (its own columns and the
check: times and timings) referring by hash to its shape, and a shape to its body: both are stored once per
distinct value (content-addressed), so a check of an unchanged page adds one small row. Rows stored before
(whole document, shape NULL; bodies by scan in scan_body_refs or scan_bodies) load as they are."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from techscaniq.domain.common import utcnow
from techscaniq.domain.scan import ScanResult, ScanStatus
from techscaniq.storage.protocols import MetricPoint
from techscaniq.storage.sql.base import SqlRepository, document, keyset_page, where_given
from techscaniq.storage.sql.scan_shapes import join, shape_hash, split
from techscaniq.storage.sql.tables import body_blobs, scan_bodies, scan_body_refs, scan_shapes
from techscaniq.storage.sql.tables import changes as changes_table
from techscaniq.storage.sql.tables import scans as t

log = logging.getLogger(__name__)

_EXPIRE_BATCH = 2000  # scans deleted per statement: short transactions, the scheduler keeps running
_COMPRESS_IN_THREAD = 64 * 1024  # bodies at least this large are compressed off the event loop
_SHAPES_CACHED = 4096  # shapes never change once stored: their documents are kept in memory, newest used last
_HOUR = timedelta(hours=1)
# What a stored scan is read from: its own columns, the check (or the whole document of older rows), its shape.
_COLUMNS = (t.c.id, t.c.config_id, t.c.organization_id, t.c.status, t.c.trigger, t.c.started_at, t.c.document,
            t.c.shape)

Stage = Literal["changes", "alerts"]


class SqlScanRepository(SqlRepository):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._shapes: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
        self._touched: dict[bytes, datetime] = {}  # shape -> the hour this process last marked it used

    async def add(self, scan: ScanResult, body: bytes | None = None) -> bool:
        shape, check = split(document(scan), scan.started_at)
        digest = hashlib.sha256(body).hexdigest() if body else None
        key = shape_hash(shape, digest)
        row = {
            "id": scan.id,
            "config_id": scan.config_id,
            "organization_id": scan.organization_id,
            "status": scan.status.value,
            "trigger": scan.trigger.value,
            "started_at": scan.started_at,
            # The run a scheduled scan belongs to stays a column, for people and tools that query the table (the
            # read path takes it, finished_at and fingerprint_version from the check and the shape).
            "scheduled_for": scan.scheduled_for,
            "document": check,
            "shape": key,
            "changes_done": False,
            "alerts_done": False,
        }
        hour = scan.started_at.replace(minute=0, second=0, microsecond=0)
        async with self._engine.begin() as conn:
            result = await conn.execute(self.insert_ignoring_duplicates(t, ["id"]).values(**row))
            if not result.rowcount:
                return False
            if self._touched.get(key) != hour:  # an unchanged page: its shape was stored (and marked) this hour
                await self._store_shape(conn, key, shape, digest, hour, body)
        self._touched[key] = hour
        if len(self._touched) > _SHAPES_CACHED:
            self._touched.pop(next(iter(self._touched)))
        self._remember(key, shape)
        return True

    async def _store_shape(self, conn: AsyncConnection, key: bytes, shape: dict[str, Any], digest: str | None,
                           hour: datetime, body: bytes | None) -> None:
        """Insert the shape, or mark it used in `hour` (the hour its scan started: what keeps `expire` from
        collecting it meanwhile), and its body if not stored yet."""
        values = {"hash": key, "document": shape, "body_hash": digest, "last_used": hour}
        dialect_insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        insert = dialect_insert(scan_shapes).values(**values)
        await conn.execute(insert.on_conflict_do_update(
            index_elements=["hash"], set_={"last_used": insert.excluded.last_used},
            where=scan_shapes.c.last_used < insert.excluded.last_used))
        if body and digest:
            known = (await conn.execute(select(body_blobs.c.hash).where(body_blobs.c.hash == digest))).first()
            if known is None:  # an unchanged page stores nothing more than its reference
                packed = (await asyncio.to_thread(zlib.compress, body, 6) if len(body) >= _COMPRESS_IN_THREAD
                          else zlib.compress(body, 6))
                await conn.execute(self.insert_ignoring_duplicates(body_blobs, ["hash"]).values(
                    hash=digest, body=packed, stored_at=utcnow()))

    def _remember(self, key: bytes, shape: dict[str, Any]) -> None:
        self._shapes[key] = shape
        self._shapes.move_to_end(key)
        if len(self._shapes) > _SHAPES_CACHED:
            self._shapes.popitem(last=False)

    async def _documents(self, conn: AsyncConnection, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """The whole documents of stored rows, either form; shapes not in memory are read in one query."""
        wanted = {bytes(row.shape) for row in rows if row.shape is not None}
        shapes = {key: self._shapes[key] for key in wanted if key in self._shapes}
        if missing := wanted - shapes.keys():
            found = await conn.execute(select(scan_shapes.c.hash, scan_shapes.c.document).where(
                scan_shapes.c.hash.in_(missing)))
            for key, shape in found:
                shapes[bytes(key)] = shape
                self._remember(bytes(key), shape)
        documents = []
        for row in rows:
            if row.shape is None:
                documents.append(row.document)
                continue
            shape = shapes.get(bytes(row.shape))
            if shape is None:  # cannot happen short of a hand-edited database: one bad row must not fail a listing
                log.error("scan %s refers to a shape that is not stored; left out", row.id)
                continue
            columns = {"id": row.id, "config_id": row.config_id, "organization_id": row.organization_id,
                       "status": row.status, "trigger": row.trigger, "started_at": row.started_at}
            documents.append(join(shape, row.document, columns))
        return documents

    async def _load(self, query: Select[Any]) -> list[ScanResult]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            documents = await self._documents(conn, rows)
        # Stored documents passed the rules of their day: rules added later must not make them unreadable.
        return [ScanResult.model_validate(found, context=self._stored) for found in documents]

    async def get(self, scan_id: str, organization_id: str | None = None) -> ScanResult | None:
        query = where_given(select(*_COLUMNS).where(t.c.id == scan_id), (t.c.organization_id, organization_id))
        found = await self._load(query.limit(1))
        return found[0] if found else None

    async def body(self, scan_id: str) -> bytes | None:
        by_shape = select(body_blobs.c.body).join(scan_shapes, scan_shapes.c.body_hash == body_blobs.c.hash).join(
            t, t.c.shape == scan_shapes.c.hash).where(t.c.id == scan_id)
        by_hash = select(body_blobs.c.body).join(scan_body_refs, scan_body_refs.c.body_hash == body_blobs.c.hash).where(
            scan_body_refs.c.scan_id == scan_id)
        async with self._engine.connect() as conn:
            data = (await conn.execute(by_shape)).scalar()
            if data is None:  # stored before scans had shapes
                data = (await conn.execute(by_hash)).scalar()
            if data is None:  # stored before bodies were content-addressed
                data = (await conn.execute(select(scan_bodies.c.body).where(scan_bodies.c.scan_id == scan_id))).scalar()
        return zlib.decompress(data) if data is not None else None

    def _expired(self, before: datetime) -> Select[tuple[str]]:
        newer = t.alias("newer")
        has_newer = exists().where(newer.c.config_id == t.c.config_id, newer.c.started_at > t.c.started_at)
        changed_something = exists().where(changes_table.c.scan_id == t.c.id)
        return select(t.c.id).where(t.c.started_at < before, has_newer, ~changed_something)

    async def expirable(self, before: datetime) -> int:
        """How many scans `expire(before)` would delete."""
        async with self._engine.connect() as conn:
            counted = select(func.count()).select_from(self._expired(before).subquery())
            return int((await conn.execute(counted)).scalar_one())

    async def expire(self, before: datetime) -> int:
        """Delete scans started before `before`, except each config's latest and every scan a change points
        at (its evidence), with their bodies' references; then bodies no scan refers to. Returns scans deleted."""
        expired = self._expired(before).limit(_EXPIRE_BATCH)
        deleted = 0
        while True:
            async with self._engine.begin() as conn:
                ids = list((await conn.execute(expired)).scalars())
                if not ids:
                    break
                await conn.execute(delete(scan_body_refs).where(scan_body_refs.c.scan_id.in_(ids)))
                await conn.execute(delete(scan_bodies).where(scan_bodies.c.scan_id.in_(ids)))
                await conn.execute(delete(t).where(t.c.id.in_(ids)))
            deleted += len(ids)
        # Shapes and bodies no scan refers to any more. A shape used by a scan started in the last hour or two may
        # be in a scan being written right now (a scan takes far less than an hour): those stay till next time.
        unused = utcnow().replace(minute=0, second=0, microsecond=0) - _HOUR
        async with self._engine.begin() as conn:
            in_use = select(t.c.shape).where(t.c.shape.is_not(None))
            await conn.execute(delete(scan_shapes).where(scan_shapes.c.last_used < unused,
                                                         ~scan_shapes.c.hash.in_(in_use)))
            referenced = exists().where(scan_body_refs.c.body_hash == body_blobs.c.hash)
            in_a_shape = exists().where(scan_shapes.c.body_hash == body_blobs.c.hash)
            await conn.execute(delete(body_blobs).where(~referenced, ~in_a_shape))
        return deleted

    async def page(self, after: str | None = None, limit: int = 1000, since: datetime | None = None
                   ) -> list[ScanResult]:
        """Keyset pages in id order (see load_page), read through the shape store like every scan read."""
        return await self._load(keyset_page(select(*_COLUMNS), t, after, limit, since, "started_at"))

    async def find(
        self,
        config_id: str | None = None,
        organization_id: str | None = None,
        status: ScanStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ScanResult]:
        query = where_given(
            select(*_COLUMNS).order_by(t.c.started_at.desc(), t.c.id.desc()).limit(limit).offset(offset),
            (t.c.config_id, config_id), (t.c.organization_id, organization_id),
            (t.c.status, status.value if status else None),
        )
        if since is not None:
            query = query.where(t.c.started_at >= since)
        if until is not None:
            query = query.where(t.c.started_at < until)
        return await self._load(query)

    async def latest(self, config_ids: list[str]) -> dict[str, ScanResult]:
        """The newest scan of each config, in one query (for overviews of many sites)."""
        if not config_ids:
            return {}
        newest = (
            select(t.c.config_id, func.max(t.c.started_at).label("started_at"))
            .where(t.c.config_id.in_(config_ids))
            .group_by(t.c.config_id)
            .subquery()
        )
        query = select(*_COLUMNS).join(
            newest, and_(t.c.config_id == newest.c.config_id, t.c.started_at == newest.c.started_at)
        )
        return {scan.config_id: scan for scan in await self._load(query)}

    async def previous(self, config_id: str, before: datetime, limit: int = 20) -> list[ScanResult]:
        query = (
            select(*_COLUMNS)
            .where(t.c.config_id == config_id, t.c.started_at < before)
            .order_by(t.c.started_at.desc(), t.c.id.desc())
            .limit(limit)
        )
        return await self._load(query)

    async def count(self, config_id: str | None = None, status: ScanStatus | None = None) -> int:
        query = select(func.count()).select_from(t)
        if config_id is not None:
            query = query.where(t.c.config_id == config_id)
        if status is not None:
            query = query.where(t.c.status == status.value)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def mark_done(self, scan_id: str, *stages: Stage) -> None:
        """Records stages as done, several in one statement (a scan that changed nothing finishes both)."""
        values = {t.c.changes_done if stage == "changes" else t.c.alerts_done: True for stage in stages}
        async with self._engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == scan_id).values(values))

    async def pending(self, stage: Stage, limit: int = 1000) -> list[ScanResult]:
        """Scans whose `stage` has not run yet (after the previous stage did), oldest first."""
        condition = (
            t.c.changes_done.is_(False)
            if stage == "changes"
            else and_(t.c.changes_done.is_(True), t.c.alerts_done.is_(False))
        )
        query = select(*_COLUMNS).where(condition).order_by(t.c.started_at).limit(limit)
        return await self._load(query)

    async def metric_points(self, config_id: str, metric: str, since: datetime | None, until: datetime | None,
                            limit: int) -> list[MetricPoint]:
        """A metric's points packed in the scans of a config (time: finished_at, else started_at), oldest first.
        Scans stored before shapes are left out: their points are rows of performance_metrics."""
        query = (select(*_COLUMNS).where(t.c.config_id == config_id, t.c.shape.is_not(None))
                 .order_by(t.c.started_at, t.c.id).limit(limit))
        if since is not None:
            query = query.where(t.c.started_at >= since - _HOUR)  # a scan finishing after `since` began before it
        if until is not None:
            query = query.where(t.c.started_at < until)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            documents = await self._documents(conn, rows)
        points = []
        for found in documents:
            value = ((found.get("performance") or {}).get("metrics") or {}).get(metric)
            time = found["finished_at"] or found["started_at"]
            if value is None or (since is not None and time < since) or (until is not None and time >= until):
                continue
            points.append(MetricPoint(found["organization_id"], found["config_id"], found["id"], metric,
                                      float(value), time))
        return sorted(points, key=lambda point: point.time)[:limit]
