"""Scan results (history) and their compressed response bodies."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, func, select, update

from techscaniq.domain.scan import ScanResult, ScanStatus
from techscaniq.storage.sql.base import SqlRepository, document, where_given
from techscaniq.storage.sql.tables import scan_bodies
from techscaniq.storage.sql.tables import scans as t

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
        async with self._engine.begin() as conn:
            result = await conn.execute(self.insert_ignoring_duplicates(t, ["id"]).values(**row))
            if not result.rowcount:
                return False
            if body:
                await conn.execute(
                    self.insert_ignoring_duplicates(scan_bodies, ["scan_id"]).values(
                        scan_id=scan.id, body=zlib.compress(body, 6)
                    )
                )
        return True

    async def get(self, scan_id: str, organization_id: str | None = None) -> ScanResult | None:
        query = where_given(select(t.c.document).where(t.c.id == scan_id), (t.c.organization_id, organization_id))
        return await self.load_one(query, ScanResult)

    async def body(self, scan_id: str) -> bytes | None:
        async with self._engine.connect() as conn:
            data = (await conn.execute(select(scan_bodies.c.body).where(scan_bodies.c.scan_id == scan_id))).scalar()
        return zlib.decompress(data) if data is not None else None

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
