"""SqlStorage: the engine, its pragmas and pool, migrations at start, and every repository."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Table, Text, cast, event, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from techscaniq.domain.common import utcnow
from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import apply_metrics_schema
from techscaniq.storage.metrics_store import MetricsStoreRepository
from techscaniq.storage.protocols import MetricRepository
from techscaniq.storage.secret_box import SecretBox
from techscaniq.storage.sql import tables
from techscaniq.storage.sql.accounts import SqlAccountRepository
from techscaniq.storage.sql.alerts import SqlAlertRepository
from techscaniq.storage.sql.api_keys import SqlApiKeyRepository
from techscaniq.storage.sql.audit import SqlAuditRepository
from techscaniq.storage.sql.baselines import SqlBaselineRepository
from techscaniq.storage.sql.changes import SqlChangeRepository
from techscaniq.storage.sql.configs import SqlConfigRepository
from techscaniq.storage.sql.custom_fingerprints import SqlCustomFingerprintRepository
from techscaniq.storage.sql.deliveries import SqlDeliveryRepository
from techscaniq.storage.sql.metrics import SqlMetricRepository
from techscaniq.storage.sql.migrations import migrate
from techscaniq.storage.sql.one_time_tokens import SqlOneTimeTokenRepository
from techscaniq.storage.sql.processed import SqlProcessedEventRepository
from techscaniq.storage.sql.revoked_tokens import SqlRevokedTokenRepository
from techscaniq.storage.sql.scan_requests import SqlScanRequestRepository
from techscaniq.storage.sql.scans import SqlScanRepository
from techscaniq.storage.sql.sessions import SqlSessionRepository
from techscaniq.storage.sql.silences import SqlSilenceRepository
from techscaniq.storage.sql.sqlite_lock import ATTEMPT_MILLISECONDS, LOCKED_BY_ANOTHER, wait_for_write_lock
from techscaniq.storage.sql.sso import SqlSsoRepository
from techscaniq.storage.sql.write_health import WriteHealth, probe_write

log = logging.getLogger(__name__)

PROCESSED_EVENTS_KEPT = timedelta(days=7)  # far beyond any redelivery of an event


class Expiring(Protocol):
    async def expirable(self, before: datetime) -> int: ...

    async def expire(self, before: datetime) -> int: ...


@dataclass(frozen=True)
class Retention:
    name: str  # of the rows, as `storage stats` and the log say it
    setting: str
    days: int  # 0: kept forever
    rows: Expiring


class SqlStorage:
    def __init__(self, settings: Settings, url: str | None = None) -> None:
        self._settings = settings
        self.url = url or settings.storage_url
        self.engine = _create_engine(self.url, settings)
        self.write_health = WriteHealth()
        self.write_health.watch(self.engine)
        if self.engine.dialect.name == "sqlite":
            wait_for_write_lock(self.engine, self._locked_by_another_process)
        self.secrets = SecretBox.from_settings(settings)
        self.configs = SqlConfigRepository(self.engine, self.secrets)
        self.scans = SqlScanRepository(self.engine)
        # Time series go to their own database (TimescaleDB or day partitions) when METRICS_DATABASE_URL is set.
        self._metrics_store = (MetricsStoreRepository.from_settings(settings)
                               if settings.separate_metrics_database_url else None)
        self._core_metrics = SqlMetricRepository(self.engine, self.scans)
        self.metrics: MetricRepository = self._metrics_store or self._core_metrics
        self.changes = SqlChangeRepository(self.engine)
        self.alerts = SqlAlertRepository(self.engine)
        self.deliveries = SqlDeliveryRepository(self.engine)
        self.processed = SqlProcessedEventRepository(self.engine)
        self.silences = SqlSilenceRepository(self.engine)
        self.custom_fingerprints = SqlCustomFingerprintRepository(self.engine)
        self.revoked_tokens = SqlRevokedTokenRepository(self.engine)
        self.scan_requests = SqlScanRequestRepository(self.engine)
        self.accounts = SqlAccountRepository(self.engine)
        self.one_time_tokens = SqlOneTimeTokenRepository(self.engine)
        self.sessions = SqlSessionRepository(self.engine)
        self.api_keys = SqlApiKeyRepository(self.engine)
        self.audit = SqlAuditRepository(self.engine)
        self.sso = SqlSsoRepository(self.engine, self.secrets)
        self.baselines = SqlBaselineRepository(self.engine)

    def _locked_by_another_process(self) -> bool:
        failure = self.write_health.failure
        return failure is not None and LOCKED_BY_ANOTHER in failure.reason

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def start(self) -> None:
        applied = await migrate(self.engine)
        if applied:
            log.info("database migrated to version %s", max(applied))
        if self._metrics_store is None and self._settings.metrics_database_url:
            log.info("METRICS_DATABASE_URL names the database of DATABASE_URL: metrics are kept in its "
                     "performance_metrics table")
        if self._metrics_store is not None:
            log.info("metrics database: %s",
                     await apply_metrics_schema(self._settings.separate_metrics_database_url or ""))
            await self._metrics_store.start()
            await self.maintain()

    def retention(self) -> list[Retention]:
        """What the hourly job deletes, in the order it does: changes before scans, so a scan kept only as the
        evidence of an expired change goes in the same run."""
        settings = self._settings
        return [
            Retention("deliveries", "DELIVERY_RETENTION_DAYS", settings.delivery_retention_days, self.deliveries),
            Retention("alerts", "ALERT_RETENTION_DAYS", settings.alert_retention_days, self.alerts),
            Retention("changes", "CHANGE_RETENTION_DAYS", settings.change_retention_days, self.changes),
            Retention("scans", "SCAN_RETENTION_DAYS", settings.scan_retention_days, self.scans),
        ]

    async def expirable(self) -> list[tuple[Retention, int]]:
        """Each retention with the rows its next run will delete (0 when it is off)."""
        now = utcnow()
        return [(kept, await kept.rows.expirable(now - timedelta(days=kept.days)) if kept.days else 0)
                for kept in self.retention()]

    async def maintain(self) -> None:
        """Retention (deliveries, alerts, changes, scans with their shapes and bodies, core-database metric points,
        the idempotency ledger) and upcoming partitions of the metrics database (hourly; cheap when nothing is due)."""
        now = utcnow()
        for kept in self.retention():
            if not kept.days:
                continue
            cutoff = now - timedelta(days=kept.days)
            if deleted := await kept.rows.expire(cutoff):
                log.info("retention: deleted %d %s older than %d days (%s)", deleted, kept.name, kept.days,
                         kept.setting)
            if kept.name == "scans" and self._metrics_store is None and (points := await self._core_metrics.prune(
                    cutoff)):
                log.info("retention: deleted %d metric points older than %d days", points, kept.days)
        await self.processed.prune(now - PROCESSED_EVENTS_KEPT)
        await self.sessions.prune(now, now - timedelta(minutes=self._settings.session_idle_minutes))
        if self._settings.audit_retention_days:
            await self.audit.prune(now - timedelta(days=self._settings.audit_retention_days))
        if self._metrics_store is not None:
            log.info("metrics maintenance: %s", await self._metrics_store.maintain())

    async def stats(self) -> list[tuple[str, int, int]]:
        """(table, rows, bytes of its documents or bodies) for the tables that grow with every scan."""
        measured: list[tuple[Table, Any]] = [
            (tables.scans, _text_length(tables.scans.c.document)),
            (tables.scan_shapes, _text_length(tables.scan_shapes.c.document)),
            (tables.body_blobs, func.length(tables.body_blobs.c.body)),
            (tables.scan_bodies, func.length(tables.scan_bodies.c.body)),
            (tables.scan_body_refs, None),
            (tables.performance_metrics, None),
            (tables.changes, _text_length(tables.changes.c.document)),
            (tables.alerts, _text_length(tables.alerts.c.document)),
            (tables.deliveries, _text_length(tables.deliveries.c.document)),
            (tables.processed_events, None),
        ]
        found = []
        async with self.engine.connect() as conn:
            for table, size in measured:
                volume = func.coalesce(func.sum(size), 0) if size is not None else literal(0)
                rows, total = (await conn.execute(select(func.count(), volume).select_from(table))).one()
                found.append((table.name, int(rows), int(total)))
        return found

    async def close(self) -> None:
        if self._metrics_store is not None:
            await self._metrics_store.close()
        await self.engine.dispose()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "down" for health checks
            log.warning("database ping failed: %s", exc)
            return False
        return True

    async def ping_metrics_database(self) -> bool | None:
        """Whether METRICS_DATABASE_URL answers; None when the time series live in the core database."""
        return await self._metrics_store.ping() if self._metrics_store is not None else None

    async def write_failure(self) -> str | None:
        """None while the database takes writes; while it does not, what fails and since when (each call tries one
        probe write, so the state clears as soon as the disk has room or the file is writable again)."""
        if self.write_health.failure is None:
            return None
        try:
            await probe_write(self.engine)
        except Exception:  # classified and kept by the engine's error hook; the earlier failure still stands
            return self.write_health.failure.describe() if self.write_health.failure else "writes failing"
        self.write_health.recovered()
        return None


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _text_length(column: Any) -> Any:
    """Characters of a JSON document as text, on SQLite and PostgreSQL alike."""
    return func.length(cast(column, Text))


def _create_engine(url: str, settings: Settings) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            from techscaniq.private_files import private_directory, private_file

            # Owner-only: SQLite gives its -wal and -shm files the database file's mode.
            private_directory(Path(path).parent)
            private_file(Path(path))
        # JSON documents are stored as text here: without the spaces json.dumps puts after ',' and ':'.
        engine = create_async_engine(url, pool_size=5, max_overflow=5,
                                     connect_args={"timeout": ATTEMPT_MILLISECONDS / 1000},
                                     json_serializer=_compact_json)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers run beside the writer; NORMAL sync is durable at each checkpoint.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Short: sqlite_lock waits in attempts of this length and tells our own writers from another process.
            cursor.execute(f"PRAGMA busy_timeout={ATTEMPT_MILLISECONDS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(
        url,
        pool_size=settings.database_pool_min_size,
        max_overflow=max(0, settings.database_pool_max_size - settings.database_pool_min_size),
        pool_pre_ping=True,
    )
