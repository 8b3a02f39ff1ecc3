"""MonitoringSystem: the one place that wires every stage from settings.

    system = MonitoringSystem()
    await system.start()
    config_id = await system.add_monitoring_config({...})   # the guide's config format
    ...
    await system.stop()

Which backends run is chosen by settings alone: no DATABASE_URL / KAFKA_SERVERS means one process
with SQLite and the in-process bus (embedded); with them, PostgreSQL and Kafka (scale-out)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

import uvicorn

from techscaniq.alerts import AlertEngine, Notifier
from techscaniq.api.revocation import RevocationList
from techscaniq.api.services import ApiServices
from techscaniq.bus.memory import InMemoryEventBus
from techscaniq.bus.protocol import EventBus
from techscaniq.changes import ChangeDetector, DetectionPolicy, refresh_false_positive_rate
from techscaniq.config_service import ConfigService
from techscaniq.coordination import RedisAlertGate, RedisGuard, RedisRateLimiter, create_redis
from techscaniq.domain.events import Topic
from techscaniq.fingerprint_sync import FingerprintSync
from techscaniq.health import HealthService
from techscaniq.observability.logging import configure_logging
from techscaniq.observability.outage import Outage, periodically
from techscaniq.pipeline.clock import Clock, system_clock
from techscaniq.pipeline.scheduler import Scheduler
from techscaniq.pipeline.stages import AlertStage, ChangeStage, finish_interrupted_work
from techscaniq.pipeline.worker import ScanWorker
from techscaniq.realtime.hub import Credential, RealtimeHub
from techscaniq.scanning.analyzers import build_analysis
from techscaniq.scanning.browser import browser_status
from techscaniq.scanning.fetch import Fetcher
from techscaniq.scanning.fingerprints.registry import FingerprintRegistry
from techscaniq.scanning.fingerprints.shared_disables import SharedDisables
from techscaniq.scanning.reanalysis import TechnologyReanalyzer
from techscaniq.scanning.scanner import Scanner
from techscaniq.search.factory import create_search_backend, shared_index
from techscaniq.search.indexer import SearchIndexer
from techscaniq.serving import serve
from techscaniq.settings import Settings
from techscaniq.storage.factory import create_storage

log = logging.getLogger("techscaniq.system")


class MonitoringSystem:
    def __init__(self, settings: Settings | None = None, *, clock: Clock = system_clock,
                 serve_http: bool = True, configure_logs: bool = True) -> None:
        self.settings = settings or Settings()
        self.clock = clock
        self.instance_id = self.settings.instance_id or f"{socket.gethostname()}-{os.getpid()}"
        self._serve_http = serve_http
        self._configure_logs = configure_logs
        self.storage = create_storage(self.settings)
        self.bus: EventBus = self._create_bus()
        self.fetcher = Fetcher(self.settings)
        self.fingerprints = FingerprintRegistry(self.settings)
        self.disabled_patterns = SharedDisables(self.fingerprints, self.storage.custom_fingerprints)
        self.analysis = build_analysis(self.settings, self.fingerprints, self.disabled_patterns.share)
        self.scanner = Scanner(self.settings, self.analysis.ordered(), self.fetcher)
        self.scheduler = Scheduler(self.storage, self.bus, self.settings, self.instance_id, clock)
        self.worker = ScanWorker(self.storage, self.bus, self.scanner, clock, on_finished=self.scheduler.scan_finished,
                                 min_interval_seconds=self.settings.min_scan_interval_seconds)
        self.change_detector = ChangeDetector(
            self.storage, DetectionPolicy.model_validate(self.settings.change_policy),
            reanalyze=TechnologyReanalyzer(self.storage.scans, self.analysis.technology),
        )
        lease = self.settings.notification_lease_seconds
        self.notifier = Notifier(self.storage, self.settings, clock=clock, lease_seconds=lease,
                                 send_timeout_seconds=min(150.0, lease / 2))
        # Redis (optional) shares alert windows and rate limits between replicas; keys are namespaced like topics.
        self.redis = RedisGuard(create_redis(self.settings)) if self.settings.redis_url else None
        namespace = self.settings.kafka_topic_prefix
        self.alert_engine = AlertEngine(
            self.storage, self.settings, clock=clock,
            silences=self.storage.silences, on_outbox=self.notifier.wake,
            gate=RedisAlertGate(self.redis, namespace) if self.redis else None,
        )
        self.rate_limiter = RedisRateLimiter(self.redis, prefix=namespace) if self.redis else None
        self.change_stage = ChangeStage(self.storage, self.bus, self.change_detector,
                                        on_finished=self.scheduler.scan_finished)
        self.alert_stage = AlertStage(self.storage, self.bus, self.alert_engine)
        self.realtime = RealtimeHub(self._authenticate_websocket,
                                    max_connections_per_organization=self.settings.websocket_max_connections_per_org,
                                    authenticate_session=self._authenticate_websocket_session)
        # Revoked JWTs: refused at once here, on other replicas after their next reload (30 s).
        self.revocations = RevocationList(self.storage.revoked_tokens, on_revoked=self.realtime.close_revoked)
        # Search: derived data kept current by its own consumer of the pipeline's events (search/indexer.py).
        self.search = create_search_backend(self.settings)
        self.search_indexer = SearchIndexer(self.storage, self.search, clock)
        self.configs = ConfigService(self.storage, self.settings, clock, wake_scheduler=self.scheduler.wake,
                                     search_indexer=self.search_indexer)
        self.fingerprint_sync = FingerprintSync(self.storage.custom_fingerprints, self.settings, clock,
                                                self.fingerprints, self.disabled_patterns)
        self._tasks: list[asyncio.Task[None]] = []
        self._servers: dict[str, uvicorn.Server] = {}
        self.ports: dict[str, int] = {}
        self._started = False
        self._maintenance_outage = Outage("maintenance", "database")
        self.status = HealthService(
            self.settings, self.storage, self.bus, clock, instance_id=self.instance_id, scheduler=self.scheduler,
            notifier=self.notifier, search=self.search, search_indexer=self.search_indexer, redis=self.redis,
            tasks=self._tasks, serve_http=serve_http,
            outages=[self.scheduler.outage, self.notifier.outage, self.revocations.outage,
                     self.fingerprint_sync.outage, self._maintenance_outage])
        self.components = self.status.components
        # The facade tests and scripts use; each is the service's own method.
        self.add_monitoring_config = self.configs.add_monitoring_config
        self.validate_config = self.configs.validate_config
        self.get_monitoring_config = self.configs.get_monitoring_config
        self.list_monitoring_configs = self.configs.list_monitoring_configs
        self.update_monitoring_config = self.configs.update_monitoring_config
        self.remove_monitoring_config = self.configs.remove_monitoring_config
        self.pause_monitoring_config = self.configs.pause_monitoring_config
        self.resume_monitoring_config = self.configs.resume_monitoring_config
        self.scan_now = self.configs.scan_now
        self.next_run_at = self.configs.next_run_at
        self.set_custom_fingerprints = self.fingerprint_sync.set_custom_fingerprints
        self.sync_custom_fingerprints = self.fingerprint_sync.sync_custom_fingerprints
        self.health = self.status.health
        self.ready = self.status.ready
        self.observe = self.status.observe
        self.check_search = self.status.check_search
        self.refresh_gauges = self.status.refresh_gauges
        self.outages = self.status.outages

    @property
    def api_services(self) -> ApiServices:
        """What the HTTP API is given (read when an app is created: a test may have replaced the settings)."""
        return ApiServices(
            settings=self.settings, storage=self.storage, configs=self.configs, fingerprints=self.fingerprint_sync,
            disabled_patterns=self.disabled_patterns, alert_engine=self.alert_engine,
            silences=self.alert_engine.silences, notifier=self.notifier, bus=self.bus, search=self.search,
            revocations=self.revocations, realtime=self.realtime, health=self.status, ports=self.ports)

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        if self._configure_logs:
            configure_logging(self.settings)
        await self.storage.start()
        self.status.set("database", "running", self.status.describe_database())
        if self.settings.embedded:
            # One process owns every lease: whatever a previous run had claimed is free again. Not with
            # PostgreSQL: other replicas may share the database, and their leases expire on their own.
            await self.storage.configs.release_leases()
            await self.storage.scan_requests.release_leases()
            await self.storage.deliveries.release_leases()  # an in-flight send need not wait out its lease
        self.bus.subscribe(Topic.SCAN_REQUESTED, "scan-workers", self.worker.handle,
                           concurrency=self.settings.scan_concurrency)
        # Per-config order matters from here on (history, throttles): sharded by config id.
        self.bus.subscribe(Topic.SCAN_COMPLETED, "change-detector", self.change_stage.handle, concurrency=4)
        self.bus.subscribe(Topic.CHANGE_DETECTED, "alert-engine", self.alert_stage.handle, concurrency=4)
        self.search_indexer.subscribe(
            self.bus, "search-indexer" if shared_index(self.settings) else f"search-{self.instance_id}")
        self.realtime.subscribe(self.bus, f"realtime-{self.instance_id}")
        await self.bus.start()
        self.status.set("event_bus", "running", type(self.bus).__name__)
        # Compile the fingerprint database before the first scan needs it (it holds the GIL a moment).
        await asyncio.to_thread(self.fingerprints.engine)
        await self.sync_custom_fingerprints()
        await self.revocations.refresh()
        if self.settings.in_process_bus:
            # No broker kept the events a crash lost: the database's pending stages are the only record.
            await finish_interrupted_work(self.storage, self.change_stage, self.alert_stage)
        self._spawn("scheduler", self.scheduler.run())
        # Maintenance failing must not stop monitoring; custom fingerprints arrive within 30 s.
        self._tasks.append(asyncio.create_task(periodically(self._maintenance_outage, 3600, self.storage.maintain),
                                               name="maintenance"))
        self._spawn("fingerprints", self.fingerprint_sync.run())
        self._spawn("revocations", self.revocations.run())
        self._spawn("notifier", self.notifier.run())
        self.status.set("scan_worker", "running", f"concurrency {self.settings.scan_concurrency}")
        self.status.set("change_detector", "running")
        self.status.set("alert_engine", "running")
        self.status.set("realtime", "running")
        self.status.set("browser", "running", browser_status(self.settings.browser_executable))
        await self.check_search()
        if self._serve_http:
            from techscaniq.api.app import create_app

            await self._serve("api", create_app(self.api_services, self.rate_limiter), self.settings.http_port)
            await self._serve("websocket", self.realtime.app, self.settings.websocket_port)
        await self.refresh_gauges()
        await refresh_false_positive_rate(self.storage.changes)
        self._started = self.status.started = True
        log.info("monitoring system started (%s)", "embedded" if self.settings.embedded else "scale-out")

    async def stop(self) -> None:
        """Graceful: no new runs are claimed, in-flight scans get the grace period to finish; a scan
        cut off keeps its lease in storage and runs again after restart. Nothing stored is lost."""
        if not self._started:
            return
        self.scheduler.stop()
        self.notifier.stop()
        for server in self._servers.values():
            server.should_exit = True
        grace = self.settings.shutdown_grace_seconds
        self.worker.stopping = True
        await self.bus.stop(drain_seconds=grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._servers.clear()
        await self.fetcher.aclose()
        await self.search_indexer.close()
        await self.notifier.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self._release_claims()
        await self.storage.close()
        for state in self.components.values():
            state.state = "stopped"
        self._started = self.status.started = False
        log.info("monitoring system stopped")

    async def _release_claims(self) -> None:
        """Runs and scan-now requests this process claimed but will not do are due again at once (for another
        replica, or the next start), instead of after their lease (2 minutes by default)."""
        try:
            released = (await self.storage.configs.release_leases(self.instance_id)
                        + await self.storage.scan_requests.release_leases(self.instance_id))
        except Exception as exc:  # the database may be what is going away: the leases then expire on their own
            log.warning("could not release claims on stop (%s): they expire after their lease", type(exc).__name__)
            return
        if released:
            log.info("released %d claimed runs this process will not do", released)

    async def __aenter__(self) -> MonitoringSystem:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # ---- internals -----------------------------------------------------------------------

    def _create_bus(self) -> EventBus:
        if self.settings.kafka_servers:
            from techscaniq.bus.kafka import KafkaEventBus

            return KafkaEventBus(self.settings)
        return InMemoryEventBus(queue_size=self.settings.bus_queue_size)

    def _spawn(self, name: str, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.append(task)
        self.status.set(name, "running")

    async def _serve(self, name: str, app: Any, port: int) -> None:
        serving = await serve(name, app, self.settings.host, port, self.status)
        if serving is not None:
            self._tasks.append(serving.task)
            self._servers[name] = serving.server
            self.ports[name] = serving.port

    async def _authenticate_websocket(self, token: str | None) -> Credential | None:
        from techscaniq.accounts.authentication import credential_of_token

        return await credential_of_token(self.api_services, token)

    async def _authenticate_websocket_session(self, cookie: str) -> Credential | None:
        from techscaniq.accounts.authentication import websocket_session

        return await websocket_session(self.api_services, cookie)
