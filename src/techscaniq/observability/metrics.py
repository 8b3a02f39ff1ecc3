"""Every Prometheus metric the system exports. One registry per process; names follow the guide
(`techscaniq_active_configs`, `techscaniq_scans_total`, `scans_failed_total`, `queue_depth`,
`scan_duration`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
# process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds...: the guide's "memory and CPU usage".
ProcessCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

# --- pipeline ---
ACTIVE_CONFIGS = Gauge("techscaniq_active_configs", "Monitoring configs that are not paused", registry=REGISTRY)
CONFIGS = Gauge("techscaniq_configs", "Monitoring configs stored", registry=REGISTRY)
SCANS = Counter("techscaniq_scans", "Scans finished, by status", ["status"], registry=REGISTRY)
SCANS_FAILED = Counter("scans_failed", "Scans that failed, by reason", ["reason"], registry=REGISTRY)
SCAN_DURATION = Histogram(
    "techscaniq_scan_duration_seconds", "Wall time of one scan", buckets=_LATENCY_BUCKETS, registry=REGISTRY
)
SCHEDULE_LAG = Histogram(
    "techscaniq_schedule_lag_seconds", "Scan start minus its due time", buckets=_LATENCY_BUCKETS, registry=REGISTRY
)
SCANS_IN_FLIGHT = Gauge("techscaniq_scans_in_flight", "Scans running now", registry=REGISTRY)
QUEUE_DEPTH = Gauge(
    "techscaniq_queue_depth", "Events waiting per topic and consumer group", ["queue"], registry=REGISTRY
)
QUEUE_CAPACITY = Gauge("techscaniq_queue_capacity", "Bound of each in-process queue", ["queue"], registry=REGISTRY)
EVENTS_PUBLISHED = Counter("techscaniq_events_published", "Events published, by topic", ["topic"], registry=REGISTRY)
EVENT_HANDLER_ERRORS = Counter(
    "techscaniq_event_handler_errors", "Handler failures (the event is retried)", ["topic", "group"], registry=REGISTRY
)
FETCH_BYTES = Counter("techscaniq_fetch_bytes", "Bytes downloaded by scans", registry=REGISTRY)

# --- change detection ---
CHANGES_DETECTED = Counter(
    "techscaniq_changes_detected", "Changes detected, by type and impact", ["type", "impact"], registry=REGISTRY
)
CHANGES_FALSE_POSITIVE = Counter(
    "techscaniq_changes_false_positive", "Changes marked as false positives", registry=REGISTRY
)
CHANGE_FALSE_POSITIVE_RATE = Gauge(
    "techscaniq_change_false_positive_ratio", "Share of stored changes marked false positive", registry=REGISTRY
)
CHANGE_PROCESSING_LATENCY = Histogram(
    "techscaniq_change_processing_latency_seconds",
    "Scan completed to its changes stored",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)

# --- alerting ---
ALERTS_TRIGGERED = Counter(
    "techscaniq_alerts_triggered", "Alerts triggered, by severity", ["severity"], registry=REGISTRY
)
ALERTS_SUPPRESSED = Counter(
    "techscaniq_alerts_suppressed", "Alerts recorded without notifying, by reason", ["reason"], registry=REGISTRY
)
ALERT_RESOLUTION = Histogram(
    "techscaniq_alert_resolution_seconds",
    "Alert triggered to resolved",
    buckets=(60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400),
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "techscaniq_notifications", "Notification attempts, by channel and outcome", ["channel", "outcome"],
    registry=REGISTRY,
)
NOTIFICATION_SUCCESS_RATIO = Gauge(
    "techscaniq_notification_success_ratio", "Delivered / (delivered + dead) since start", registry=REGISTRY
)
NOTIFICATIONS_PENDING = Gauge("techscaniq_notifications_pending", "Deliveries waiting in the outbox", registry=REGISTRY)
NOTIFICATION_CHANNELS_FAILING = Gauge(
    "techscaniq_notification_channels_failing",
    "Channels whose last 3 or more attempts (in this process) all failed", registry=REGISTRY,
)

# --- realtime and API ---
WEBSOCKET_CONNECTIONS = Gauge("techscaniq_websocket_connections", "Open WebSocket connections", registry=REGISTRY)
WEBSOCKET_MESSAGES = Counter(
    "techscaniq_websocket_messages", "WebSocket messages, by outcome (sent, dropped)", ["outcome"], registry=REGISTRY
)
HTTP_REQUESTS = Counter(
    "techscaniq_http_requests", "API requests, by method, route and status", ["method", "route", "status"],
    registry=REGISTRY,
)

# --- coordination (Redis) ---
COORDINATION_FALLBACKS = Counter(
    "techscaniq_coordination_fallbacks", "Redis operations that took the local/database fallback, by operation",
    ["operation"], registry=REGISTRY,
)

# --- health ---
COMPONENT_UP = Gauge("techscaniq_component_up", "1 when a component is healthy", ["component"], registry=REGISTRY)
DATABASE_UP = Gauge("techscaniq_database_up", "1 when the database answers", registry=REGISTRY)
LOOP_OUTAGE = Gauge(
    "techscaniq_loop_outage", "1 while a background loop cannot reach its backend and is retrying", ["loop"],
    registry=REGISTRY,
)
PROCESS_MEMORY_RATIO = Gauge(
    "techscaniq_process_memory_ratio", "Resident memory / memory limit (cgroup or machine)", registry=REGISTRY
)

# --- search ---
SEARCH_INDEX_LAG = Gauge(
    "techscaniq_search_index_lag_seconds",
    "Seconds from the last indexed pipeline event to its arrival in the search index", registry=REGISTRY,
)
SEARCH_DOCUMENTS_INDEXED = Counter(
    "techscaniq_search_documents_indexed_total", "Documents written to the search index, by kind", ["kind"],
    registry=REGISTRY,
)
