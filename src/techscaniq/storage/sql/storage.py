"""SqlStorage: the engine, its pragmas and pool, migrations at start, and every repository."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import apply_metrics_schema
from techscaniq.storage.metrics_store import MetricsStoreRepository
from techscaniq.storage.protocols import MetricRepository
from techscaniq.storage.secret_box import SecretBox
from techscaniq.storage.sql.alerts import SqlAlertRepository
from techscaniq.storage.sql.changes import SqlChangeRepository
from techscaniq.storage.sql.configs import SqlConfigRepository
from techscaniq.storage.sql.custom_fingerprints import SqlCustomFingerprintRepository
from techscaniq.storage.sql.deliveries import SqlDeliveryRepository
from techscaniq.storage.sql.metrics import SqlMetricRepository
from techscaniq.storage.sql.migrations import migrate
from techscaniq.storage.sql.processed import SqlProcessedEventRepository
from techscaniq.storage.sql.revoked_tokens import SqlRevokedTokenRepository
from techscaniq.storage.sql.scan_requests import SqlScanRequestRepository
from techscaniq.storage.sql.scans import SqlScanRepository
from techscaniq.storage.sql.silences import SqlSilenceRepository

log = logging.getLogger(__name__)


class SqlStorage:
    def __init__(self, settings: Settings, url: str | None = None) -> None:
        self._settings = settings
        self.url = url or settings.storage_url
        self.engine = _create_engine(self.url, settings)
        self.secrets = SecretBox.from_settings(settings)
        self.configs = SqlConfigRepository(self.engine, self.secrets)
        self.scans = SqlScanRepository(self.engine)
        # Time series go to their own database (TimescaleDB or day partitions) when METRICS_DATABASE_URL is set.
        self._metrics_store = MetricsStoreRepository.from_settings(settings) if settings.metrics_database_url else None
        self.metrics: MetricRepository = self._metrics_store or SqlMetricRepository(self.engine)
        self.changes = SqlChangeRepository(self.engine)
        self.alerts = SqlAlertRepository(self.engine)
        self.deliveries = SqlDeliveryRepository(self.engine)
        self.processed = SqlProcessedEventRepository(self.engine)
        self.silences = SqlSilenceRepository(self.engine)
        self.custom_fingerprints = SqlCustomFingerprintRepository(self.engine)
        self.revoked_tokens = SqlRevokedTokenRepository(self.engine)
        self.scan_requests = SqlScanRequestRepository(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def start(self) -> None:
        applied = await migrate(self.engine)
        if applied:
            log.info("database migrated to version %s", max(applied))
        if self._metrics_store is not None:
            log.info("metrics database: %s", await apply_metrics_schema(self._settings.metrics_database_url or ""))
            await self._metrics_store.start()
            await self.maintain()

    async def maintain(self) -> None:
        """Retention and upcoming partitions of the metrics database (hourly; cheap when nothing is due)."""
        if self._metrics_store is not None:
            log.info("metrics maintenance: %s", await self._metrics_store.maintain())

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


def _create_engine(url: str, settings: Settings) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            from techscaniq.private_files import private_directory, private_file

            # Owner-only: SQLite gives its -wal and -shm files the database file's mode.
            private_directory(Path(path).parent)
            private_file(Path(path))
        engine = create_async_engine(url, pool_size=5, max_overflow=5, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers run beside the writer; NORMAL sync is durable at each checkpoint.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(
        url,
        pool_size=settings.database_pool_min_size,
        max_overflow=max(0, settings.database_pool_max_size - settings.database_pool_min_size),
        pool_pre_ping=True,
    )
