"""Change detection baselines, one row per config, read and written once per scan."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update

from techscaniq.domain.baseline import Baseline, StoredBaseline, pack, unpack
from techscaniq.domain.common import utcnow
from techscaniq.storage.sql.base import SqlRepository
from techscaniq.storage.sql.tables import change_baselines as t
from techscaniq.storage.sql.tables import scans


class SqlBaselineRepository(SqlRepository):
    async def get(self, config_id: str, before: datetime) -> StoredBaseline:
        """The baseline, and which stored scan it must end with to be current for a scan started at `before`
        (a scan stored but not judged yet, or judged elsewhere out of order, makes it stale). One statement
        of two indexed lookups, so the cost does not grow with the config's history."""
        # max() then equality: two index seeks (ORDER BY started_at, id would sort what the index does not).
        latest = select(func.max(scans.c.started_at)).where(
            scans.c.config_id == config_id, scans.c.started_at < before).scalar_subquery()
        newest = (
            select(scans.c.id).where(scans.c.config_id == config_id, scans.c.started_at == latest)
            .order_by(scans.c.id.desc()).limit(1).scalar_subquery()
        )
        query = select(t.c.document, newest.label("newest_scan_id")).where(t.c.config_id == config_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:  # no baseline yet: it is built from the stored history, whichever scan is newest
            return StoredBaseline(None, None)
        baseline, newest_id = unpack(row.document), row.newest_scan_id
        return StoredBaseline(baseline, newest_id)

    async def put(self, organization_id: str, baseline: Baseline) -> bool:
        """Stores `baseline` unless the stored one already ends with a newer scan (another replica got
        there first). Returns whether it was stored."""
        newest = baseline.newest
        if newest is None:
            return False
        values = {"organization_id": organization_id, "scan_id": newest.id, "scan_started_at": newest.started_at,
                  "policy_key": baseline.policy_key, "updated_at": utcnow(), "document": pack(baseline)}
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t).where(t.c.config_id == baseline.config_id, t.c.scan_started_at <= newest.started_at)
                .values(**values)
            )
            if result.rowcount:
                return True
            inserted = await conn.execute(
                self.insert_ignoring_duplicates(t, ["config_id"]).values(config_id=baseline.config_id, **values)
            )
            return bool(inserted.rowcount)

    async def drop(self, config_id: str | None = None) -> int:
        """Forget one config's baseline, or all: the next scan rebuilds it from the stored history."""
        query = delete(t) if config_id is None else delete(t).where(t.c.config_id == config_id)
        async with self._engine.begin() as conn:
            return int((await conn.execute(query)).rowcount)
