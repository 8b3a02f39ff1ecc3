"""/api/v1/configs/{id}/rules: a config's alert rules and their notification channels, one at a time.

Rules live inside the config, so every write is a config update (validated as a whole, applied
through ApiServices.update_monitoring_config). Channel secrets are masked on output; a masked
value sent back keeps the stored secret."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Depends, status

from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import get_principal, get_services, require_writer
from techscaniq.api.errors import ConflictError, FieldError, NotFoundError
from techscaniq.api.masking import refuse_masked, restore_masked
from techscaniq.api.services import ApiServices
from techscaniq.domain.common import KNOWN_IDS, REVEAL_SECRETS
from techscaniq.domain.config import AlertRule, MonitoringConfig

router = APIRouter(prefix="/api/v1/configs/{config_id}/rules", tags=["alert rules"])

MAX_TESTED_CHANNELS = 10  # a test is one click: it never fans out to an unbounded list of receivers

RULE_EXAMPLE = {
    "name": "Security regressions",
    "conditions": {"type": "security", "min_impact": "medium"},
    "severity": "high",
    "notification_channels": [{"type": "webhook", "url": "https://hooks.example.com/techscaniq"}],
}


@router.get("", summary="The alert rules of a config")
async def list_rules(
    config_id: str, principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services)
) -> list[dict[str, Any]]:
    config = await services.configs.get_monitoring_config(config_id, principal.organization_id)
    return [rule.model_dump(mode="json") for rule in config.alert_rules]


@router.get("/{rule_id}", summary="One alert rule")
async def get_rule(
    config_id: str, rule_id: str, principal: Principal = Depends(get_principal),
    services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    config = await services.configs.get_monitoring_config(config_id, principal.organization_id)
    return _find(config, rule_id).model_dump(mode="json")


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add an alert rule")
async def add_rule(
    config_id: str, body: dict[str, Any] = Body(..., examples=[RULE_EXAMPLE]),
    principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    config = await services.configs.get_monitoring_config(config_id, principal.organization_id)
    rule = _validate(body, config)
    if config.rule(rule.id) is not None:
        raise ConflictError(f"config already has a rule with id {rule.id!r}")
    await _store(services, config, [*_revealed(config), rule.model_dump(mode="json", context=REVEAL_SECRETS)])
    return rule.model_dump(mode="json")


@router.put("/{rule_id}", summary="Replace an alert rule (masked secrets keep their stored value)")
async def replace_rule(
    config_id: str, rule_id: str, body: dict[str, Any] = Body(..., examples=[RULE_EXAMPLE]),
    principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    config = await services.configs.get_monitoring_config(config_id, principal.organization_id)
    current = _find(config, rule_id).model_dump(mode="json", context=REVEAL_SECRETS)
    rule = _validate(restore_masked({**body, "id": rule_id}, current), config)
    rules = [rule.model_dump(mode="json", context=REVEAL_SECRETS) if r["id"] == rule_id else r
             for r in _revealed(config)]
    await _store(services, config, rules)
    return rule.model_dump(mode="json")


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove an alert rule")
async def delete_rule(
    config_id: str, rule_id: str, principal: Principal = Depends(require_writer),
    services: ApiServices = Depends(get_services),
) -> None:
    config = await services.configs.get_monitoring_config(config_id, principal.organization_id)
    _find(config, rule_id)
    await _store(services, config, [r for r in _revealed(config) if r["id"] != rule_id])


@router.post("/{rule_id}/test", summary="Send a test notification through each channel of a rule; how each went")
async def send_test_notification(
    config_id: str, rule_id: str, principal: Principal = Depends(require_writer),
    services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    config = await services.configs.get_monitoring_config(config_id, principal.organization_id)
    rule = _find(config, rule_id)
    if not rule.notification_channels:
        raise FieldError("notification_channels", "the rule has no channel to test")
    channels = rule.notification_channels[:MAX_TESTED_CHANNELS]
    errors = await asyncio.gather(*(services.notifier.send_test(config, rule, i) for i in range(len(channels))))
    results = []
    for index, (channel, error) in enumerate(zip(channels, errors, strict=True)):
        results.append({"channel_index": index, "type": channel.type, "ok": error is None,
                        "error": None if error is None else str(error),
                        "status_code": None if error is None else error.status_code,
                        "reason": None if error is None else error.reason})
    return {"rule_id": rule.id, "results": results}


def _validate(body: dict[str, Any], config: MonitoringConfig) -> AlertRule:
    refuse_masked(body)
    # A rule stored before the safe-id rule can still be replaced under its id.
    return AlertRule.model_validate(body, context={KNOWN_IDS: {rule.id for rule in config.alert_rules}})


def _find(config: MonitoringConfig, rule_id: str) -> AlertRule:
    if (rule := config.rule(rule_id)) is not None:
        return rule
    raise NotFoundError(f"config {config.id!r} has no rule with id {rule_id!r}")


def _revealed(config: MonitoringConfig) -> list[dict[str, Any]]:
    return [rule.model_dump(mode="json", context=REVEAL_SECRETS) for rule in config.alert_rules]


async def _store(services: ApiServices, config: MonitoringConfig, rules: list[dict[str, Any]]) -> None:
    await services.configs.update_monitoring_config(config.id, {"alert_rules": rules}, config.organization_id)
