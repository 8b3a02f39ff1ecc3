"""What the HTTP API is given: narrow services, built by the composition root (system.py). The routes take
them with `Depends(get_services)` (api/dependencies.py); nothing in the API knows the system that wired them."""

from __future__ import annotations

from dataclasses import dataclass

from techscaniq.alerts import AlertEngine, Notifier
from techscaniq.alerts.silences import SilenceStore
from techscaniq.api.revocation import RevocationList
from techscaniq.bus.protocol import EventBus
from techscaniq.config_service import ConfigService
from techscaniq.fingerprint_sync import FingerprintSync
from techscaniq.health import HealthService
from techscaniq.realtime.hub import RealtimeHub
from techscaniq.scanning.fingerprints.shared_disables import SharedDisables
from techscaniq.search.backend import SearchBackend
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


@dataclass(frozen=True)
class ApiServices:
    settings: Settings
    storage: SqlStorage
    configs: ConfigService  # config writes (validation, quotas, the scheduler woken) and scan-now
    fingerprints: FingerprintSync  # tenants' own fingerprints
    disabled_patterns: SharedDisables
    alert_engine: AlertEngine  # acknowledge, resolve
    silences: SilenceStore
    notifier: Notifier  # retries and test sends
    bus: EventBus  # events the API itself raises (an alert resolved by hand)
    search: SearchBackend
    revocations: RevocationList
    realtime: RealtimeHub  # the /ws endpoint
    health: HealthService  # /health, /ready, /metrics
    ports: dict[str, int]  # where the API and the hub listen (filled when they start): public links
