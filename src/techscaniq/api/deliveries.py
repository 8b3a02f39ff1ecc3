"""/api/v1/deliveries: the notification outbox of the organization — dead letters above all — and
retrying them by hand, one or every dead letter of a channel (after fixing a receiver, for example)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from techscaniq.alerts.channels.base import scrub, secrets_of
from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import MAX_OFFSET, get_principal, get_services, require_writer
from techscaniq.api.errors import ConflictError, NotFoundError
from techscaniq.api.services import ApiServices
from techscaniq.domain.alert import Delivery, DeliveryStatus
from techscaniq.domain.config import MonitoringConfig

router = APIRouter(prefix="/api/v1/deliveries", tags=["alerts"])

RETRY_ALL_LIMIT = 10_000  # dead letters of one channel retried by one request
_LOG_FIELDS = ("attempt", "at", "duration_ms", "error", "status_code", "reason", "outcome", "by")


class ChannelRef(BaseModel):
    """One notification channel: the `channel_index`-th channel of rule `rule_id` of config `config_id`."""

    config_id: str = Field(min_length=1, max_length=200)
    rule_id: str = Field(min_length=1, max_length=200)
    channel_index: int = Field(ge=0)


@router.get("", summary="Deliveries, newest first (status=dead: the dead letters)")
async def list_deliveries(
    status: DeliveryStatus | None = None, config_id: str | None = None, rule_id: str | None = None,
    channel_index: int | None = Query(None, ge=0),
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> list[dict[str, Any]]:
    organization, wanted = principal.organization_id, status.value if status else None
    if config_id is None and rule_id is None and channel_index is None:
        chosen = await services.storage.deliveries.find(organization, wanted, limit=limit, offset=offset)
    else:  # the channel lives in the document, not in a column: filtered here, within RETRY_ALL_LIMIT
        found = await services.storage.deliveries.find(organization, wanted, limit=RETRY_ALL_LIMIT)
        chosen = [d for d in found if _on_channel(d, config_id, rule_id, channel_index)][offset:offset + limit]
    return await public_deliveries(services, chosen)


@router.post("/{delivery_id}/retry", summary="Send a dead (or waiting) delivery again now")
async def retry_one(
    delivery_id: str, principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    delivery = await services.storage.deliveries.get(delivery_id, principal.organization_id)
    if delivery is None:
        raise NotFoundError(f"no delivery with id {delivery_id!r}")
    if delivery.status is DeliveryStatus.DELIVERED:
        raise ConflictError(f"delivery {delivery_id!r} was delivered; it is not sent twice")
    retried = await services.notifier.retry(delivery, by=principal.subject)
    [public] = await public_deliveries(services, [retried])
    return public


@router.post("/retry", summary="Send every dead letter of one channel again now")
async def retry_channel(
    channel: ChannelRef, principal: Principal = Depends(require_writer),
    services: ApiServices = Depends(get_services),
) -> dict[str, int]:
    if await services.storage.configs.get(channel.config_id, principal.organization_id) is None:
        raise NotFoundError(f"no config with id {channel.config_id!r}")
    dead = await services.storage.deliveries.find(organization_id=principal.organization_id,
                                                status=DeliveryStatus.DEAD.value, limit=RETRY_ALL_LIMIT)
    retried = 0
    for delivery in dead:
        if _on_channel(delivery, channel.config_id, channel.rule_id, channel.channel_index):
            await services.notifier.retry(delivery, by=principal.subject)
            retried += 1
    return {"retried": retried}


async def public_deliveries(services: ApiServices, deliveries: list[Delivery]) -> list[dict[str, Any]]:
    """The deliveries without their channels' secrets, each config read once (a listing is mostly one config)."""
    configs: dict[tuple[str, str], MonitoringConfig | None] = {}
    for delivery in deliveries:
        key = (delivery.config_id, delivery.organization_id)
        if key not in configs:
            configs[key] = await services.storage.configs.get(*key)
    return [public_delivery(d, configs[(d.config_id, d.organization_id)]) for d in deliveries]


def public_delivery(delivery: Delivery, config: MonitoringConfig | None) -> dict[str, Any]:
    """The delivery without its channel's secrets (errors scrubbed of them once more on the way out)."""
    rule = config.rule(delivery.rule_id) if config else None
    channels = rule.notification_channels if rule else []
    secrets = secrets_of(channels[delivery.channel_index]) if 0 <= delivery.channel_index < len(channels) else []
    data = delivery.model_dump(mode="json", include={
        "id", "alert_id", "config_id", "rule_id", "channel_index", "channel_type", "kind", "status", "attempts",
        "last_error", "next_attempt_at", "created_at", "delivered_at", "retrying_since"})
    if data["last_error"]:
        data["last_error"] = scrub(data["last_error"], secrets)
    data["log"] = [{key: scrub(value, secrets) if isinstance(value, str) else value for key, value in entry.items()
                    if key in _LOG_FIELDS}
                   for entry in delivery.log]
    return data


def _on_channel(delivery: Delivery, config_id: str | None, rule_id: str | None, channel_index: int | None) -> bool:
    return ((config_id is None or delivery.config_id == config_id) and (rule_id is None or delivery.rule_id == rule_id)
            and (channel_index is None or delivery.channel_index == channel_index))
