"""/api/v1/alerts: alerts of the organization, acknowledging and resolving them, and their deliveries
(never with a channel's secrets: errors are scrubbed of them once more on the way out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from techscaniq.alerts.channels.base import scrub, secrets_of
from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import MAX_OFFSET, get_principal, get_system, require_writer
from techscaniq.api.errors import NotFoundError
from techscaniq.domain.alert import Alert, AlertStatus, Delivery
from techscaniq.domain.events import Event, Topic
from techscaniq.system import MonitoringSystem

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("", summary="Alerts, newest first")
async def list_alerts(
    config_id: str | None = None, status: AlertStatus | None = None, since: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(get_principal), system: MonitoringSystem = Depends(get_system),
) -> list[dict[str, Any]]:
    alerts = await system.storage.alerts.find(organization_id=principal.organization_id, config_id=config_id,
                                              status=status, since=since, limit=limit, offset=offset)
    return [alert.model_dump(mode="json") for alert in alerts]


@router.get("/{alert_id}", summary="One alert")
async def get_alert(
    alert_id: str, principal: Principal = Depends(get_principal), system: MonitoringSystem = Depends(get_system)
) -> dict[str, Any]:
    return (await _alert(system, alert_id, principal.organization_id)).model_dump(mode="json")


@router.post("/{alert_id}/acknowledge", summary="Someone is on it")
async def acknowledge(
    alert_id: str, principal: Principal = Depends(require_writer), system: MonitoringSystem = Depends(get_system)
) -> dict[str, Any]:
    alert = await system.alert_engine.acknowledge(alert_id, principal.subject, principal.organization_id)
    if alert is None:
        raise NotFoundError(f"no alert with id {alert_id!r}")
    return alert.model_dump(mode="json")


@router.post("/{alert_id}/resolve", summary="Resolve by hand (notifies when the rule asks for it)")
async def resolve(
    alert_id: str, principal: Principal = Depends(require_writer), system: MonitoringSystem = Depends(get_system)
) -> dict[str, Any]:
    before = await _alert(system, alert_id, principal.organization_id)
    alert = await system.alert_engine.resolve(alert_id, principal.organization_id)
    if alert is None:
        raise NotFoundError(f"no alert with id {alert_id!r}")
    if before.status is not AlertStatus.RESOLVED and alert.status is AlertStatus.RESOLVED:
        # Dashboards learn of it like of an automatic resolution.
        await system.bus.publish(Event(topic=Topic.ALERT_RESOLVED, key=alert.config_id,
                                       organization_id=alert.organization_id,
                                       payload={"alert": alert.model_dump(mode="json")}))
    return alert.model_dump(mode="json")


@router.get("/{alert_id}/deliveries", summary="Each notification of the alert, with every attempt")
async def deliveries(
    alert_id: str, principal: Principal = Depends(get_principal), system: MonitoringSystem = Depends(get_system)
) -> list[dict[str, Any]]:
    alert = await _alert(system, alert_id, principal.organization_id)
    config = await system.storage.configs.get(alert.config_id, principal.organization_id)
    rule = config.rule(alert.rule_id) if config else None
    found = await system.storage.deliveries.list_for_alert(alert.id)
    return [_public_delivery(d, secrets_of(rule.notification_channels[d.channel_index])
                             if rule and 0 <= d.channel_index < len(rule.notification_channels) else [])
            for d in found if d.organization_id == principal.organization_id]


def _public_delivery(delivery: Delivery, secrets: list[str]) -> dict[str, Any]:
    data = delivery.model_dump(mode="json", include={
        "id", "alert_id", "config_id", "rule_id", "channel_index", "channel_type", "kind", "status", "attempts",
        "last_error", "next_attempt_at", "created_at", "delivered_at"})
    if data["last_error"]:
        data["last_error"] = scrub(data["last_error"], secrets)
    data["log"] = [{key: scrub(value, secrets) if isinstance(value, str) else value for key, value in entry.items()
                    if key in ("attempt", "at", "duration_ms", "error", "status_code", "outcome")}
                   for entry in delivery.log]
    return data


async def _alert(system: MonitoringSystem, alert_id: str, organization_id: str) -> Alert:
    alert = await system.storage.alerts.get(alert_id, organization_id)
    if alert is None:
        raise NotFoundError(f"no alert with id {alert_id!r}")
    return alert
