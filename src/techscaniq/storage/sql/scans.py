"""Scan results (history) and their response bodies, stored once per distinct body (content-addressed)."""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, and_, delete, exists, func, select, update

from techscaniq.domain.common import utcnow
from techscaniq.domain.scan import ScanResult, ScanStatus
from techscaniq.storage.sql.base import SqlRepository, document, where_given
from techscaniq.storage.sql.tables import body_blobs, scan_bodies, scan_body_refs
from techscaniq.storage.sql.tables import changes as changes_table
from techscaniq.storage.sql.tables import scans as t

_EXPIRE_BATCH = 2000  # scans deleted per statement: short transactions, the scheduler keeps running
_COMPRESS_IN_THREAD = 64 * 1024  # bodies at least this large are compressed off the event loop

Stage = Literal["changes", "alerts"]


class SqlScanRepository(SqlRepository):
    async def add(self, scan: ScanResult, body: bytes | None = None) -> bool:
        row = {
            "id": scan.id,
            "config_id": scan.config_id,
            "organization_id": scan.organization_id,
            "status": scan.status.value,
            "trigger": scan.trigger.value,
            "scheduled_for": scan.scheduled_for,
            "started_at": scan.started_at,
            "finished_at": scan.finished_at,
            "fingerprint_version": scan.fingerprint_version,
            "document": document(scan),
            "changes_done": False,
            "alerts_done": False,
        }
        digest = hashlib.sha256(body).hexdigest() if body else None
        async with self._engine.begin() as conn:
            result = await conn.execute(self.insert_ignoring_duplicates(t, ["id"]).values(**row))
            if not result.rowcount:
                return False
            if body and digest:
                await conn.execute(self.insert_ignoring_duplicates(scan_body_refs, ["scan_id"]).values(
                    scan_id=scan.id, body_hash=digest))
                known = (await conn.execute(select(body_blobs.c.hash).where(body_blobs.c.hash == digest))).first()
                if known is None:  # an unchanged page stores nothing more than its reference
                    packed = (await asyncio.to_thread(zlib.compress, body, 6) if len(body) >= _COMPRESS_IN_THREAD
                              else zlib.compress(body, 6))
                    await conn.execute(self.insert_ignoring_duplicates(body_blobs, ["hash"]).values(
                        hash=digest, body=packed, stored_at=utcnow()))
        return True

    async def get(self, scan_id: str, organization_id: str | None = None) -> ScanResult | None:
        query = where_given(select(t.c.document).where(t.c.id == scan_id), (t.c.organization_id, organization_id))
        return await self.load_one(query, ScanResult)

    async def body(self, scan_id: str) -> bytes | None:
        by_hash = select(body_blobs.c.body).join(scan_body_refs, scan_body_refs.c.body_hash == body_blobs.c.hash).where(
            scan_body_refs.c.scan_id == scan_id)
        async with self._engine.connect() as conn:
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
        async with self._engine.begin() as conn:
            referenced = exists().where(scan_body_refs.c.body_hash == body_blobs.c.hash)
            await conn.execute(delete(body_blobs).where(~referenced))
        return deleted

    async def page(self, after: str | None = None, limit: int = 1000, since: datetime | None = None
                   ) -> list[ScanResult]:
        return await self.load_page(t, ScanResult, after, limit, since, "started_at")

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
            select(t.c.document).order_by(t.c.started_at.desc(), t.c.id.desc()).limit(limit).offset(offset),
            (t.c.config_id, config_id), (t.c.organization_id, organization_id),
            (t.c.status, status.value if status else None),
        )
        if since is not None:
            query = query.where(t.c.started_at >= since)
        if until is not None:
            query = query.where(t.c.started_at < until)
        return await self.load_all(query, ScanResult)

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
        query = select(t.c.config_id, t.c.document).join(
            newest, and_(t.c.config_id == newest.c.config_id, t.c.started_at == newest.c.started_at)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {row.config_id: ScanResult.model_validate(row.document) for row in rows}

    async def previous(self, config_id: str, before: datetime, limit: int = 20) -> list[ScanResult]:
        query = (
            select(t.c.document)
            .where(t.c.config_id == config_id, t.c.started_at < before)
            .order_by(t.c.started_at.desc(), t.c.id.desc())
            .limit(limit)
        )
        return await self.load_all(query, ScanResult)

    async def count(self, config_id: str | None = None, status: ScanStatus | None = None) -> int:
        query = select(func.count()).select_from(t)
        if config_id is not None:
            query = query.where(t.c.config_id == config_id)
        if status is not None:
            query = query.where(t.c.status == status.value)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def mark_done(self, scan_id: str, stage: Stage) -> None:
        column = t.c.changes_done if stage == "changes" else t.c.alerts_done
        async with self._engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == scan_id).values({column: True}))

    async def pending(self, stage: Stage, limit: int = 1000) -> list[ScanResult]:
        """Scans whose `stage` has not run yet (after the previous stage did), oldest first."""
        condition = (
            t.c.changes_done.is_(False)
            if stage == "changes"
            else and_(t.c.changes_done.is_(True), t.c.alerts_done.is_(False))
        )
        query = select(t.c.document).where(condition).order_by(t.c.started_at).limit(limit)
        return await self.load_all(query, ScanResult)
