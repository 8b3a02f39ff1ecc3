"""The messages WebSocket clients receive (schema in docs/websocket.md).

A scan.completed message carries a compact summary rather than the whole scan document: dashboards
need the status, grade, stack and headline timings, and a full scan (evidence, headers, findings) is
tens of kilobytes that every connected client would otherwise receive. The full scan stays one
`GET /api/v1/scans/{id}` away."""

from __future__ import annotations

import json
from typing import Any

from techscaniq.domain.availability import scan_availability
from techscaniq.domain.events import Event, Topic
from techscaniq.domain.scan import ScanResult
from techscaniq.wording import with_alert_summary, with_change_summary

HEADLINE_METRICS = ("ttfb_ms", "load_time_ms", "transfer_bytes", "dns_ms", "connect_ms", "tls_ms")


def scan_summary(scan: ScanResult) -> dict[str, Any]:
    """What a list of sites shows for one scan; also used by the API's overview."""
    return summarize_scan_document(scan.model_dump(mode="json"))


def summarize_scan_document(scan: dict[str, Any]) -> dict[str, Any]:
    """The summary from a scan's JSON document, as carried by scan.completed (no model validation on the
    hot path: one event can go to thousands of clients, and the hub handles every event)."""
    response = scan.get("response") or {}
    security = scan.get("security")
    metrics = (scan.get("performance") or {}).get("metrics") or {}
    return {
        "id": scan.get("id"),
        "config_id": scan.get("config_id"),
        "url": scan.get("url"),
        "status": scan.get("status"),
        "error": scan.get("error"),
        "trigger": scan.get("trigger"),
        "started_at": scan.get("started_at"),
        "finished_at": scan.get("finished_at"),
        "duration_ms": scan.get("duration_ms"),
        "status_code": response.get("status_code"),
        "availability": scan_availability(scan.get("status") == "success", response.get("status_code"),
                                          scan.get("error")),
        "final_url": response.get("final_url"),
        "security": {
            "grade": security.get("grade"), "score": security.get("score"),
            "tests_passed": security.get("tests_passed"), "tests_failed": security.get("tests_failed"),
            "vulnerabilities": len(security.get("vulnerabilities") or []),
        } if isinstance(security, dict) else None,
        "technologies": [
            {"name": d.get("name"), "version": d.get("version"), "categories": d.get("categories", [])}
            for d in scan.get("technologies") or [] if isinstance(d, dict)
        ],
        "metrics": {name: metrics[name] for name in HEADLINE_METRICS if name in metrics},
    }


def live_message(event: Event) -> dict[str, Any]:
    """The envelope every event is sent in: type, id, config_id, occurred_at, schema_version, data."""
    data = event.payload
    if event.topic is Topic.SCAN_COMPLETED and isinstance(data.get("scan"), dict):
        data = {"scan_id": data.get("scan_id"), "config_id": data.get("config_id"),
                "scan": summarize_scan_document(data["scan"])}
    elif event.topic is Topic.CHANGE_DETECTED and isinstance(data.get("changes"), list):
        data = {**data, "changes": [with_change_summary(c) for c in data["changes"] if isinstance(c, dict)]}
    elif event.topic in (Topic.ALERT_TRIGGERED, Topic.ALERT_RESOLVED) and isinstance(data.get("alert"), dict):
        data = {**data, "alert": with_alert_summary(data["alert"])}
    return {"type": event.topic.value, "id": event.id, "config_id": event.key,
            "organization_id": event.organization_id, "occurred_at": event.occurred_at.isoformat(),
            "schema_version": event.schema_version, "data": data}


def encode(message: dict[str, Any]) -> str:
    """Serialized once per event, not once per client."""
    return json.dumps(message, separators=(",", ":"), default=str)
