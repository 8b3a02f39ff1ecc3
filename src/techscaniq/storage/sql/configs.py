"""Monitoring configs and their schedule state (next run, lease)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, func, insert, literal, or_, select, tuple_, update

from techscaniq.domain.config import MonitoringConfig
from techscaniq.storage.protocols import ScheduledRun
from techscaniq.storage.sql.base import SqlRepository, document, where_given
from techscaniq.storage.sql.tables import monitoring_configs as t


class SqlConfigRepository(SqlRepository):
    async def add(self, config: MonitoringConfig, next_run_at: datetime | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(t).values(**self._row(config), next_run_at=next_run_at))

    async def get(self, config_id: str, organization_id: str | None = None) -> MonitoringConfig | None:
        query = where_given(select(t.c.document).where(t.c.id == config_id), (t.c.organization_id, organization_id))
        return await self.load_one(query, MonitoringConfig)

    async def page(self, after: str | None = None, limit: int = 1000) -> list[MonitoringConfig]:
        return await self.load_page(t, MonitoringConfig, after, limit)

    async def find(
        self, organization_id: str | None = None, limit: int = 1000, offset: int = 0,
        after: tuple[datetime, str] | None = None,
    ) -> list[MonitoringConfig]:
        """In (created_at, id) order. `after`: the (created_at, id) of the last config of the previous page
        (keyset pagination: an index range scan, where a large offset reads and drops every row before it)."""
        query = select(t.c.document).order_by(t.c.created_at, t.c.id).limit(limit).offset(offset)
        if after is not None:
            created = bindparam(None, after[0], type_=t.c.created_at.type)
            query = query.where(tuple_(t.c.created_at, t.c.id) > tuple_(created, literal(after[1])))
        return await self.load_all(where_given(query, (t.c.organization_id, organization_id)), MonitoringConfig)

    async def update(self, config: MonitoringConfig, next_run_at: datetime | None) -> bool:
        row = self._row(config)
        del row["id"], row["created_at"]
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.id == config.id, t.c.organization_id == config.organization_id)
                .values(**row, next_run_at=next_run_at, lease_owner=None, lease_until=None)
            )
        return result.rowcount > 0

    async def delete(self, config_id: str, organization_id: str | None = None) -> bool:
        query = delete(t).where(t.c.id == config_id)
        if organization_id is not None:
            query = query.where(t.c.organization_id == organization_id)
        async with self._engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    async def count(self, organization_id: str | None = None, active_only: bool = False) -> int:
        query = select(func.count()).select_from(t)
        if organization_id is not None:
            query = query.where(t.c.organization_id == organization_id)
        if active_only:
            query = query.where(t.c.paused.is_(False))
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def next_run_at(self, config_id: str) -> datetime | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(select(t.c.next_run_at).where(t.c.id == config_id))).scalar()

    async def next_runs(self, config_ids: list[str]) -> dict[str, datetime | None]:
        query = select(t.c.id, t.c.next_run_at).where(t.c.id.in_(config_ids))
        async with self._engine.connect() as conn:
            return {row.id: row.next_run_at for row in (await conn.execute(query)).all()}

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float, owner: str) -> list[ScheduledRun]:
        due = and_(
            t.c.paused.is_(False),
            t.c.next_run_at.is_not(None),
            t.c.next_run_at <= now,
            or_(t.c.lease_until.is_(None), t.c.lease_until < now),
        )
        lease_until = now + timedelta(seconds=lease_seconds)
        # Round robin over organizations across the fleet: an organization's first due run ranks after the runs
        # it has in flight on any replica (leased, not done), its second after that, ... So one organization
        # with thousands of due runs cannot push another's behind them, however small the claims: a replica
        # claiming one run at a time still takes the organization with the least in flight first (ranking
        # by the turn alone restarts at each claim, and the flood's older due runs won every tie).
        in_flight = (
            select(t.c.organization_id, func.count().label("runs"))
            .where(t.c.lease_until.is_not(None), t.c.lease_until >= now)
            .group_by(t.c.organization_id)
            .subquery()
        )
        # The due runs first, from the due index, materialized: left to itself SQLite walks the whole table in
        # organization order to feed the window (270 ms a claim at 100,000 configs, bench/bench_claims.py).
        due_runs = (
            select(t.c.id, t.c.organization_id, t.c.next_run_at).where(due).cte("due_runs").prefix_with("MATERIALIZED")
        )
        turn = func.row_number().over(partition_by=due_runs.c.organization_id, order_by=due_runs.c.next_run_at)
        ranked = (
            select(due_runs.c.id, due_runs.c.next_run_at, (turn + func.coalesce(in_flight.c.runs, 0)).label("turn"))
            .select_from(due_runs.outerjoin(in_flight, in_flight.c.organization_id == due_runs.c.organization_id))
            .subquery()
        )
        async with self._engine.begin() as conn:
            chosen = (await conn.execute(
                select(ranked.c.id).order_by(ranked.c.turn, ranked.c.next_run_at).limit(limit)
            )).scalars().all()
            if not chosen:
                return []
            # Then lock them, skipping rows another replica holds (PostgreSQL allows no FOR UPDATE with a
            # window function; locking in one statement, not row by row, is what keeps replicas from
            # deadlocking on each other). SQLite has one writer and ignores the clause.
            locked = {row.id: row.next_run_at for row in (await conn.execute(
                select(t.c.id, t.c.next_run_at).where(t.c.id.in_(chosen), due).with_for_update(skip_locked=True)
            )).all()}
            if locked:
                await conn.execute(
                    update(t).where(t.c.id.in_(list(locked))).values(lease_owner=owner, lease_until=lease_until)
                )
            claimed = [ScheduledRun(config_id=config_id, due_at=locked[config_id])
                       for config_id in chosen if config_id in locked]
        return claimed

    async def complete_run(self, config_id: str, due_at: datetime, next_run_at: datetime | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t)
                .where(t.c.id == config_id, t.c.next_run_at == due_at)
                .values(next_run_at=next_run_at, last_run_at=due_at, lease_owner=None, lease_until=None)
            )

    async def release_leases(self, owner: str | None = None) -> int:
        """Forget leases (all, or one owner's): a single process restarting, or any process stopping."""
        return await self.release_leases_of(t, owner)

    async def earliest_next_run(self, now: datetime) -> datetime | None:
        query = select(func.min(t.c.next_run_at)).where(
            t.c.paused.is_(False), or_(t.c.lease_until.is_(None), t.c.lease_until < now)
        )
        async with self._engine.connect() as conn:
            earliest: datetime | None = (await conn.execute(query)).scalar()
        return earliest

    async def rewrite_secrets(self, batch: int = 500) -> int:
        """Write every config's document again: its secrets encrypted with the first key (after a key is
        added, or to encrypt secrets stored before encryption). Returns how many configs were rewritten."""
        rewritten, after = 0, ""
        while True:
            async with self._engine.begin() as conn:
                rows = (await conn.execute(
                    select(t.c.id, t.c.document).where(t.c.id > after).order_by(t.c.id).limit(batch)
                )).all()
                for row in rows:
                    config = MonitoringConfig.model_validate(row.document, context=self._stored)
                    rewrite = update(t).where(t.c.id == row.id).values(document=document(config, self._secrets))
                    await conn.execute(rewrite)
            if not rows:
                return rewritten
            rewritten += len(rows)
            after = rows[-1].id

    def _row(self, config: MonitoringConfig) -> dict[str, object]:
        return {
            "id": config.id,
            "organization_id": config.organization_id,
            "name": config.name,
            "url": config.url,
            "paused": config.paused,
            "document": document(config, self._secrets),
            "created_at": config.created_at,
            "updated_at": config.updated_at,
        }
