"""The core schema. Each row keeps its domain object as a JSON document plus the columns that are
queried, filtered or constrained. database/migrations/001_monitoring_core_schema.sql is this metadata
compiled for PostgreSQL (`techscaniq schema`), and a test keeps the two identical."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from techscaniq.storage.sql.types import JSONDocument, UTCDateTime

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

monitoring_configs = Table(
    "monitoring_configs",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("organization_id", String(200), nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("url", Text, nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("document", JSONDocument, nullable=False),
    Column("next_run_at", UTCDateTime, nullable=True),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("last_run_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_monitoring_configs_due", "paused", "next_run_at"),
)

scans = Table(
    "scans",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("config_id", String(200), nullable=False),
    Column("organization_id", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("scheduled_for", UTCDateTime, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("fingerprint_version", String(200), nullable=True),
    Column("document", JSONDocument, nullable=False),
    # Stages done for this scan; lets a restart finish what an in-process bus lost in a crash.
    Column("changes_done", Boolean, nullable=False, default=False),
    Column("alerts_done", Boolean, nullable=False, default=False),
    # sha256 of the scan's shape in scan_shapes (migration 9); the document is then only the check. NULL: the
    # document is whole (stored before).
    Column("shape", LargeBinary, nullable=True),
    Index("ix_scans_config_started", "config_id", "started_at"),
    Index("ix_scans_org_started", "organization_id", "started_at"),
    Index("ix_scans_pending", "changes_done", "alerts_done"),
)

scan_bodies = Table(
    "scan_bodies",
    metadata,
    Column("scan_id", String(64), primary_key=True),
    Column("body", LargeBinary, nullable=False),  # zlib-compressed response body
)

performance_metrics = Table(
    "performance_metrics",
    metadata,
    Column("time", UTCDateTime, nullable=False),
    Column("organization_id", String(200), nullable=False),
    Column("config_id", String(200), nullable=False),
    Column("scan_id", String(64), nullable=False),
    Column("metric", String(100), nullable=False),
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("config_id", "metric", "time", "scan_id", name="pk_performance_metrics"),
)

changes = Table(
    "changes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("dedupe_key", Text, nullable=False, unique=True),
    Column("organization_id", String(200), nullable=False),
    Column("config_id", String(200), nullable=False),
    Column("scan_id", String(64), nullable=False, index=True),
    Column("type", String(30), nullable=False),
    Column("change_type", String(50), nullable=False),
    Column("subject", Text, nullable=False),
    Column("impact_rank", Integer, nullable=False),
    Column("data_change", Boolean, nullable=False, default=False),
    Column("false_positive", Boolean, nullable=False, default=False),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("document", JSONDocument, nullable=False),
    Index("ix_changes_org_detected", "organization_id", "detected_at"),
    Index("ix_changes_config_detected", "config_id", "detected_at"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("organization_id", String(200), nullable=False),
    Column("config_id", String(200), nullable=False),
    Column("rule_id", String(200), nullable=False),
    Column("dedupe_key", Text, nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("notified", Boolean, nullable=False),
    Column("triggered_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("document", JSONDocument, nullable=False),
    Index("ix_alerts_org_triggered", "organization_id", "triggered_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("alert_id", String(64), nullable=False, index=True),
    Column("organization_id", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("document", JSONDocument, nullable=False),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("processed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("consumer", "event_id", name="pk_processed_events"),
)


silences = Table(
    "silences",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("organization_id", String(200), nullable=False, index=True),
    Column("config_id", String(200), nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("document", JSONDocument, nullable=False),
)


custom_fingerprints = Table(
    "custom_fingerprints",
    metadata,
    Column("organization_id", String(200), primary_key=True),
    Column("document", JSONDocument, nullable=False),  # technologies.json format; {} means removed
    Column("updated_at", UTCDateTime, nullable=False, index=True),
)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(200), primary_key=True),
    Column("organization_id", String(200), nullable=False),
    Column("revoked_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),  # after this the token is dead anyway: pruned
    Column("reason", String(500), nullable=False, default=""),
)

# Scan-now requests, stored before the API answers 202 and deleted when their scan is stored: a crash or a
# restart in between leaves the request here, and the next scheduler tick (of any replica) claims it again.
scan_requests = Table(
    "scan_requests",
    metadata,
    Column("id", String(64), primary_key=True),  # the scan id the 202 answered with
    Column("config_id", String(200), nullable=False),
    Column("organization_id", String(200), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Index("ix_scan_requests_due", "lease_until", "requested_at"),
)

# Response bodies, content-addressed: one zlib copy per distinct body (sha256 of the raw bytes), however many
# scans fetched it; a scan points at its body by hash. (scan_bodies holds the copies of scans stored before.)
body_blobs = Table(
    "body_blobs",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("stored_at", UTCDateTime, nullable=False),
)

scan_body_refs = Table(
    "scan_body_refs",
    metadata,
    Column("scan_id", String(64), primary_key=True),
    Column("body_hash", String(64), nullable=False, index=True),
)

# --- people and access (migration 7: accounts; migration 8: sessions, API keys, audit) ---
# Organizations were only names in tokens and API_KEYS; this table holds the ones people sign in to.
organizations = Table(
    "organizations",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased: one account per address
    Column("name", String(300), nullable=False, default=""),
    Column("password_hash", String(300), nullable=True),  # argon2id; None: signs in only by single sign-on
    Column("totp_secret", String(200), nullable=True),  # encrypted with the secret box
    Column("recovery_codes", JSONDocument, nullable=True),  # sha256 of each unused code
    Column("failed_sign_ins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", String(64), nullable=False),
    Column("organization_id", String(200), nullable=False, index=True),
    Column("role", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("user_id", "organization_id"),
)

# Setup links, invitations and password resets: only the sha256 of the token is kept, and it works once.
one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(20), nullable=False),  # setup | invite | reset
    Column("organization_id", String(200), nullable=True),
    Column("email", String(320), nullable=True),
    Column("role", String(20), nullable=True),
    Column("created_by", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),  # None: valid until used (the first-run setup link)
    Column("used_at", UTCDateTime, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie's value
    Column("user_id", String(64), nullable=False, index=True),
    Column("organization_id", String(200), nullable=False),  # the organization the person works in now
    Column("csrf_token", String(64), nullable=False),
    Column("address", String(100), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),  # the absolute expiry
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),  # also the key's visible prefix: tsk_<id>_<secret>
    Column("organization_id", String(200), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("organization_id", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(300), nullable=False),
    Column("address", String(100), nullable=False, default=""),
    Column("action", String(200), nullable=False),
    Column("target", String(500), nullable=False, default=""),
    Column("outcome", Integer, nullable=False),  # the HTTP status answered
    Column("details", JSONDocument, nullable=False),
    Index("ix_audit_log_organization_at", "organization_id", "at"),
)

# Single sign-on (OpenID Connect) per organization; part of migration 8.
sso_configs = Table(
    "sso_configs",
    metadata,
    Column("organization_id", String(200), primary_key=True),
    Column("issuer", String(500), nullable=False),
    Column("client_id", String(300), nullable=False),
    Column("client_secret", Text, nullable=False),  # encrypted with the secret box
    Column("role_claim", String(100), nullable=False),
    Column("role_map", JSONDocument, nullable=False),  # claim value -> role
    Column("default_role", String(20), nullable=True),  # None: a person whose claims map to no role is refused
    Column("updated_at", UTCDateTime, nullable=False),
)

# Change detection's baseline per config (changes/baseline.py): the window of scans its rules read, reduced to
# what they read, in one row read and written once per scan. `scan_id` / `scan_started_at`: its newest scan.
change_baselines = Table(
    "change_baselines",
    metadata,
    Column("config_id", String(200), primary_key=True),
    Column("organization_id", String(200), nullable=False),
    Column("scan_id", String(64), nullable=False),
    Column("scan_started_at", UTCDateTime, nullable=False),
    Column("policy_key", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("document", JSONDocument, nullable=False),
)

# Keyset pagination of config listings (created by migration 10 as plain DDL, so migration 1's schema file
# stays as shipped): the organization's page and the whole table's, in (created_at, id) order.
CONFIG_LISTING_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_monitoring_configs_org_created"
    " ON monitoring_configs (organization_id, created_at, id)",
    "CREATE INDEX IF NOT EXISTS ix_monitoring_configs_created ON monitoring_configs (created_at, id)",
)

# The runs in flight (leased, not done) per organization, which every claim counts to rank organizations fairly:
# partial, so it holds only the leased rows and the count reads those instead of the whole table (migration 16).
LEASED_CONFIGS_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_monitoring_configs_leased ON monitoring_configs (organization_id, lease_until)"
    " WHERE lease_until IS NOT NULL"
)

# What repeats between scans of an unchanged page (see scan_shapes.py), once per distinct value. `last_used`
# (the hour the newest scan using it started) keeps a shape a scan is being written with from being collected.
scan_shapes = Table(
    "scan_shapes",
    metadata,
    Column("hash", LargeBinary, primary_key=True),
    Column("document", JSONDocument, nullable=False),
    Column("body_hash", String(64), nullable=True, index=True),
    Column("last_used", UTCDateTime, nullable=False),
)

# Custom fingerprint patterns a search took over its budget with (migration 11): disabled for that organization
# on every replica and after a restart. Each row names the set it was found in (`set_version`, the set's
# updated_at): a replaced set makes the rows of the one before it void.
custom_fingerprint_disabled = Table(
    "custom_fingerprint_disabled",
    metadata,
    Column("organization_id", String(200), nullable=False),
    Column("pattern_id", String(64), nullable=False),  # sha256 of technology, source, key and regex
    Column("set_version", UTCDateTime, nullable=False),
    Column("technology", String(300), nullable=False),
    Column("source", String(50), nullable=False),
    Column("key", Text, nullable=True),
    Column("pattern", Text, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("disabled_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("organization_id", "pattern_id", name="pk_custom_fingerprint_disabled"),
)
