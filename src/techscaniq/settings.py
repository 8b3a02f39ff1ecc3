"""Every knob of the system, read from the environment and `.env`. No variable set means embedded."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from techscaniq.egress.address_guard import AddressPolicy, parse_allowed


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- backends (the spec's variables) ---
    database_url: str | None = Field(default=None, description="PostgreSQL URL; unset means SQLite")
    metrics_database_url: str | None = None
    redis_url: str | None = None
    redis_password: SecretStr | None = None
    kafka_servers: str | None = None
    # Unset: a random key is generated once and kept in DATA_DIR/jwt_secret (embedded convenience).
    jwt_secret_key: SecretStr | None = None
    # Fernet keys (comma separated; the first encrypts) for channel secrets in the database. Unset: derived
    # from JWT_SECRET_KEY, or generated once into DATA_DIR/secrets_key (storage/secret_box.py).
    secrets_encryption_key: SecretStr | None = None
    jwt_expiry_minutes: int = 60
    database_pool_min_size: int = Field(default=2, ge=1)
    database_pool_max_size: int = Field(default=10, ge=1)
    redis_pool_max_connections: int = Field(default=100, ge=1)
    kafka_batch_size: int = Field(default=16384, ge=1)
    kafka_linger_ms: int = Field(default=10, ge=0)
    kafka_partitions: int = Field(default=6, ge=1)
    kafka_topic_prefix: str = "techscaniq."  # topics are prefix + event topic, e.g. techscaniq.scan.completed

    # --- processes and ports ---
    host: str = "0.0.0.0"
    http_port: int = Field(default=8000, ge=0, le=65535)
    websocket_port: int = Field(default=8765, ge=0, le=65535)
    data_dir: Path = Path("data")
    log_dir: Path = Path("logs")
    log_file: Path = Path("monitoring_system.log")
    log_level: str = "INFO"
    instance_id: str | None = None

    # --- scanning limits ---
    allow_private_targets: bool = False
    # Comma-separated networks (10.1.0.0/16) and host names scans may reach although they are private
    # (finer than ALLOW_PRIVATE_TARGETS, which opens them all).
    allowed_target_networks: str | None = None
    scan_concurrency: int = Field(default=20, ge=1)
    per_host_concurrency: int = Field(default=2, ge=1)
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    read_timeout_seconds: float = Field(default=15.0, gt=0)
    total_timeout_seconds: float = Field(default=30.0, gt=0)
    max_redirects: int = Field(default=10, ge=0)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_decoded_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Pages nested deeper are cut there before parsing (parse cost grows with the square of the depth).
    html_max_depth: int = Field(default=512, ge=16)
    user_agent: str = "TechScanIQ/0.1 (+https://github.com/techscaniq/techscaniq)"
    fingerprints_dir: Path | None = None
    # Browser mode (scan_config.browser): Debian's Chromium, and how many may run at once (a few hundred MB each).
    browser_executable: str = "/usr/bin/chromium"
    browser_concurrency: int = Field(default=2, ge=1)
    fingerprints_dns: bool = False  # resolve TXT/MX/NS/CNAME/SOA for `dns` fingerprints (only if any exist)
    fingerprints_stylesheets: bool = False  # fetch linked stylesheets for `css` fingerprints
    # Each search by an organization's own (custom) pattern: over this, the pattern is disabled for it.
    fingerprints_custom_budget_ms: int = Field(default=50, ge=1, le=10_000)
    # PEM file of CAs trusted in addition to the system store (internal sites, test CAs).
    extra_ca_bundle: Path | None = None
    # The TLS rating's full probe (10 to 60 handshakes) runs at most once per host:port in this many hours;
    # scans in between reuse it (0: probe on every scan).
    tls_rating_cache_hours: float = Field(default=6.0, ge=0)
    # The security step's redirection and CORS probes are reused this long per URL (0: every scan asks again).
    probe_cache_seconds: float = Field(default=600.0, ge=0)

    # --- scheduling and pipeline ---
    # Configs may not be scanned more often than this (a 1 ms interval would hammer its target and us).
    # Configs stored before a raise keep loading and are run no more often than this.
    min_scan_interval_seconds: float = Field(default=60.0, ge=0)
    scheduler_tick_seconds: float = Field(default=1.0, gt=0)
    scheduler_batch_size: int = Field(default=500, ge=1)
    scheduler_lease_seconds: float = Field(default=120.0, gt=0)
    bus_queue_size: int = Field(default=10_000, ge=1)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)

    # --- retention (applied hourly by the maintenance job) ---
    # Scans (and their bodies) older than this are deleted, except each config's latest and every scan a change
    # points at; metric points in the core database likewise (METRICS_DATABASE_URL has its own retention). 0 keeps all.
    scan_retention_days: int = Field(default=90, ge=0)
    # Changes detected, alerts resolved and deliveries done (delivered or given up on) more than this many days ago;
    # an open alert and a delivery still to be sent stay. A resolved alert goes with its deliveries. 0 keeps all.
    change_retention_days: int = Field(default=365, ge=0)
    alert_retention_days: int = Field(default=365, ge=0)
    delivery_retention_days: int = Field(default=90, ge=0)

    # --- quotas per organization (quotas.py) ---
    quota_configs_per_organization: int = Field(default=10_000, ge=1)
    quota_rules_per_config: int = Field(default=100, ge=1)
    quota_channels_per_rule: int = Field(default=20, ge=1)
    quota_recipients_per_channel: int = Field(default=100, ge=1)
    quota_custom_fingerprints: int = Field(default=5_000, ge=1)  # technologies in one organization's set
    quota_scan_now_per_minute: int = Field(default=60, ge=1)

    # --- change detection ---
    # Fields of changes.DetectionPolicy as JSON, e.g. CHANGE_POLICY='{"baseline_window": 10,
    # "consecutive_scans": 3, "impact_overrides": {"technology.added:analytics": "medium"}}'.
    change_policy: dict[str, Any] = Field(default_factory=dict)

    # --- notifications ---
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_use_tls: bool = True
    smtp_from_address: str = "noreply@techscaniq.local"
    # Comma-separated networks and host names notification channels may reach although they are private
    # (an internal webhook receiver or mail relay). Separate from ALLOW_PRIVATE_TARGETS: monitoring internal
    # sites does not open the internal network to every organization's channels.
    notification_allowed_networks: str | None = None
    # Retries back off from NOTIFICATION_BACKOFF_SECONDS, doubling up to NOTIFICATION_MAX_BACKOFF_SECONDS, until
    # NOTIFICATION_MAX_ATTEMPTS or NOTIFICATION_RETRY_WINDOW_SECONDS after the first attempt: a receiver down for
    # hours still gets the alert (defaults: 4 to 8 hours of retries with jitter, at most a day).
    notification_max_attempts: int = Field(default=25, ge=1)
    notification_backoff_seconds: float = Field(default=5.0, gt=0)
    notification_max_backoff_seconds: float = Field(default=1800.0, gt=0)
    notification_retry_window_seconds: float = Field(default=86400.0, gt=0)
    # A delivery claimed by a replica that died is sent by another after this long (at-least-once).
    notification_lease_seconds: float = Field(default=300.0, ge=2)

    # --- API ---
    api_keys: str | None = Field(default=None, description="org_id:key pairs, comma separated")
    rate_limit_per_minute: int = Field(default=600, ge=1)
    # All credentials of one organization together (rate_limit_per_minute applies to each credential).
    organization_rate_limit_per_minute: int = Field(default=3000, ge=1)
    dashboard_enabled: bool = True
    # WebSocket connections one organization may hold on one replica (more are closed with 4429).
    websocket_max_connections_per_org: int = Field(default=1000, ge=1)
    # Request bodies larger than this are a 413 before they are read. The largest legitimate ones are config
    # imports (at most 5 MiB, config_documents.MAX_DOCUMENT_BYTES) and custom fingerprint sets.
    max_request_body_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)

    # --- search (search/) ---
    # OpenSearch or Elasticsearch, e.g. http://localhost:9200; unset: SQLite FTS5 in DATA_DIR/search.
    elasticsearch_url: str | None = None
    # Index templates, aliases and indices are named with this prefix (techscaniq-sites, -changes, -alerts).
    search_index_prefix: str = Field(default="techscaniq-", pattern=r"^[a-z0-9][a-z0-9_.-]{0,60}$")

    # --- people and access (docs/access.md) ---
    # The address people reach the dashboard at, for setup, invitation and reset links (unset: http://localhost:PORT).
    public_url: str | None = None
    session_idle_minutes: int = Field(default=120, ge=1)  # a session unused this long ends
    session_max_hours: int = Field(default=24, ge=1)  # and every session ends this long after sign-in
    sign_in_max_failures: int = Field(default=5, ge=1)  # wrong passwords in a row before the account is locked
    sign_in_lockout_minutes: int = Field(default=15, ge=1)
    sign_in_attempts_per_address_per_minute: int = Field(default=20, ge=1)  # sign-in and setup, per client address
    audit_retention_days: int = Field(default=365, ge=0)  # 0 keeps the audit log forever

    @field_validator("database_url", "metrics_database_url", "redis_url", "kafka_servers", "elasticsearch_url",
                     mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `DATABASE_URL=` in a .env or compose file means "not set": embedded, not a broken URL.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("allowed_target_networks", "notification_allowed_networks")
    @classmethod
    def _valid_allow_list(cls, value: str | None, info: ValidationInfo) -> str | None:
        parse_allowed(value or "", str(info.field_name).upper())  # a typo fails at start, naming the entry
        return value

    @property
    def scan_address_policy(self) -> AddressPolicy:
        networks, hosts = parse_allowed(self.allowed_target_networks or "", "ALLOWED_TARGET_NETWORKS")
        return AddressPolicy(
            allow_private=self.allow_private_targets, allowed_networks=networks, allowed_hosts=hosts,
            remedy="set ALLOWED_TARGET_NETWORKS (or ALLOW_PRIVATE_TARGETS=true) to monitor internal sites",
        )

    @property
    def notification_address_policy(self) -> AddressPolicy:
        networks, hosts = parse_allowed(self.notification_allowed_networks or "", "NOTIFICATION_ALLOWED_NETWORKS")
        return AddressPolicy(
            allowed_networks=networks, allowed_hosts=hosts,
            remedy="list the receiver in NOTIFICATION_ALLOWED_NETWORKS to allow an internal receiver",
        )

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def in_process_bus(self) -> bool:
        """No KAFKA_SERVERS: events live only in this process, so a crash loses the ones in flight."""
        return self.kafka_servers is None

    @cached_property
    def sqlite_path(self) -> Path:
        return self.data_dir / "techscaniq.db"

    @property
    def storage_url(self) -> str:
        """SQLAlchemy URL of the core database."""
        if self.database_url:
            return _asyncpg_url(self.database_url)
        return f"sqlite+aiosqlite:///{self.sqlite_path}"

    @property
    def separate_metrics_database_url(self) -> str | None:
        """METRICS_DATABASE_URL when it names a database of its own; None when unset or when it names the core
        database again (scripts/services.sh sets both so when only DATABASE_URL is given): the time series then
        live in the core schema's table — one database, one pool, no second schema clashing with the first."""
        url = self.metrics_database_url
        if url and self.database_url and _database_identity(url) == _database_identity(self.database_url):
            return None
        return url


def _database_identity(url: str) -> tuple[str, int, str]:
    """(host, port, database) of a PostgreSQL URL, loopback spelled one way."""
    parts = urlsplit(url)
    host = (parts.hostname or "localhost").lower()
    host = "loopback" if host in ("localhost", "127.0.0.1", "::1") else host
    return host, parts.port or 5432, unquote(parts.path.lstrip("/")) or unquote(parts.username or "")


def _asyncpg_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url
