"""The messages WebSocket clients receive (schema in docs/websocket.md).

A scan.completed message carries a compact summary rather than the whole scan document: dashboards
need the status, grade, stack and headline timings, and a full scan (evidence, headers, findings) is
tens of kilobytes that every connected client would otherwise receive. The full scan stays one
`GET /api/v1/scans/{id}` away."""

from __future__ import annotations

import json
from typing import Any

from techscaniq.domain.events import Event, Topic
from techscaniq.domain.scan import ScanResult

HEADLINE_METRICS = ("ttfb_ms", "load_time_ms", "transfer_bytes", "dns_ms", "connect_ms", "tls_ms")


def scan_summary(scan: ScanResult) -> dict[str, Any]:
    """What a list of sites shows for one scan; also used by the API's overview."""
    metrics = scan.performance.metrics if scan.performance else {}
    security = scan.security
    return {
        "id": scan.id,
        "config_id": scan.config_id,
        "url": scan.url,
        "status": scan.status.value,
        "error": scan.error.model_dump(mode="json") if scan.error else None,
        "trigger": scan.trigger.value,
        "started_at": scan.started_at.isoformat(),
        "finished_at": scan.finished_at.isoformat() if scan.finished_at else None,
        "duration_ms": scan.duration_ms,
        "status_code": scan.response.status_code if scan.response else None,
        "final_url": scan.response.final_url if scan.response else None,
        "security": {
            "grade": security.grade, "score": security.score,
            "tests_passed": security.tests_passed, "tests_failed": security.tests_failed,
            "vulnerabilities": len(security.vulnerabilities),
        } if security else None,
        "technologies": [
            {"name": d.name, "version": d.version, "categories": d.categories} for d in scan.technologies
        ],
        "metrics": {name: metrics[name] for name in HEADLINE_METRICS if name in metrics},
    }


def live_message(event: Event) -> dict[str, Any]:
    """The envelope every event is sent in: type, id, config_id, occurred_at, schema_version, data."""
    data = event.payload
    if event.topic is Topic.SCAN_COMPLETED and "scan" in data:
        data = {"scan_id": data.get("scan_id"), "config_id": data.get("config_id"),
                "scan": scan_summary(ScanResult.model_validate(data["scan"]))}
    return {"type": event.topic.value, "id": event.id, "config_id": event.key,
            "organization_id": event.organization_id, "occurred_at": event.occurred_at.isoformat(),
            "schema_version": event.schema_version, "data": data}


def encode(message: dict[str, Any]) -> str:
    """Serialized once per event, not once per client."""
    return json.dumps(message, separators=(",", ":"), default=str)
