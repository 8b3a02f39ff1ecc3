"""/api/v1/alerts: alerts of the organization, acknowledging and resolving them, and their deliveries
(never with a channel's secrets: errors are scrubbed of them once more on the way out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from techscaniq.api.auth import Principal
from techscaniq.api.deliveries import public_deliveries
from techscaniq.api.dependencies import MAX_OFFSET, get_principal, get_services, require_writer
from techscaniq.api.errors import NotFoundError
from techscaniq.api.services import ApiServices
from techscaniq.domain.alert import Alert, AlertStatus
from techscaniq.domain.events import Event, Topic
from techscaniq.wording import with_alert_summary

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("", summary="Alerts, newest first")
async def list_alerts(
    config_id: str | None = None, status: AlertStatus | None = None, since: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> list[dict[str, Any]]:
    alerts = await services.storage.alerts.find(organization_id=principal.organization_id, config_id=config_id,
                                              status=status, since=since, limit=limit, offset=offset)
    return [with_alert_summary(alert.model_dump(mode="json")) for alert in alerts]


@router.get("/{alert_id}", summary="One alert")
async def get_alert(
    alert_id: str, principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    return with_alert_summary((await _alert(services, alert_id, principal.organization_id)).model_dump(mode="json"))


@router.post("/{alert_id}/acknowledge", summary="Someone is on it")
async def acknowledge(
    alert_id: str, principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    alert = await services.alert_engine.acknowledge(alert_id, principal.subject, principal.organization_id)
    if alert is None:
        raise NotFoundError(f"no alert with id {alert_id!r}")
    return with_alert_summary(alert.model_dump(mode="json"))


@router.post("/{alert_id}/resolve", summary="Resolve by hand (notifies when the rule asks for it)")
async def resolve(
    alert_id: str, principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    before = await _alert(services, alert_id, principal.organization_id)
    alert = await services.alert_engine.resolve(alert_id, principal.organization_id)
    if alert is None:
        raise NotFoundError(f"no alert with id {alert_id!r}")
    if before.status is not AlertStatus.RESOLVED and alert.status is AlertStatus.RESOLVED:
        # Dashboards learn of it like of an automatic resolution.
        await services.bus.publish(Event(topic=Topic.ALERT_RESOLVED, key=alert.config_id,
                                       organization_id=alert.organization_id,
                                       payload={"alert": alert.model_dump(mode="json")}))
    return with_alert_summary(alert.model_dump(mode="json"))


@router.get("/{alert_id}/deliveries", summary="Each notification of the alert, with every attempt")
async def deliveries(
    alert_id: str, principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services)
) -> list[dict[str, Any]]:
    alert = await _alert(services, alert_id, principal.organization_id)
    found = await services.storage.deliveries.list_for_alert(alert.id)
    return await public_deliveries(services, [d for d in found if d.organization_id == principal.organization_id])


async def _alert(services: ApiServices, alert_id: str, organization_id: str) -> Alert:
    alert = await services.storage.alerts.get(alert_id, organization_id)
    if alert is None:
        raise NotFoundError(f"no alert with id {alert_id!r}")
    return alert
