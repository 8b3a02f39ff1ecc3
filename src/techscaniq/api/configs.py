"""/api/v1/configs: create, read, update, delete, pause, resume and scan now, within one organization."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, status

from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import get_principal, get_system, require_writer
from techscaniq.api.errors import ForbiddenError
from techscaniq.system import MonitoringSystem

router = APIRouter(prefix="/api/v1/configs", tags=["configs"])


def _public(config: Any) -> dict[str, Any]:
    data: dict[str, Any] = config.model_dump(mode="json")  # secrets masked
    return data


def _claim_organization(body: dict[str, Any], principal: Principal) -> dict[str, Any]:
    given = body.get("organization_id")
    if given is not None and given != principal.organization_id:
        raise ForbiddenError("organization_id does not match your organization")
    return {**body, "organization_id": principal.organization_id}


@router.get("", summary="List configs")
async def list_configs(
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0),
    principal: Principal = Depends(get_principal), system: MonitoringSystem = Depends(get_system),
) -> list[dict[str, Any]]:
    configs = await system.list_monitoring_configs(principal.organization_id, limit=limit, offset=offset)
    return [_public(c) for c in configs]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a config (the guide's format)")
async def create_config(
    body: dict[str, Any] = Body(...), principal: Principal = Depends(require_writer),
    system: MonitoringSystem = Depends(get_system),
) -> dict[str, Any]:
    config_id = await system.add_monitoring_config(_claim_organization(body, principal))
    return _public(await system.get_monitoring_config(config_id))


@router.get("/{config_id}", summary="One config")
async def get_config(
    config_id: str, principal: Principal = Depends(get_principal), system: MonitoringSystem = Depends(get_system)
) -> dict[str, Any]:
    config = await system.get_monitoring_config(config_id, principal.organization_id)
    return {**_public(config), "next_run_at": _iso(await system.next_run_at(config_id))}


@router.patch("/{config_id}", summary="Change some fields of a config")
@router.put("/{config_id}", summary="Change a config")
async def update_config(
    config_id: str, body: dict[str, Any] = Body(...), principal: Principal = Depends(require_writer),
    system: MonitoringSystem = Depends(get_system),
) -> dict[str, Any]:
    _claim_organization(body, principal)
    config = await system.update_monitoring_config(config_id, dict(body), principal.organization_id)
    return _public(config)


@router.delete("/{config_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a config")
async def delete_config(
    config_id: str, principal: Principal = Depends(require_writer), system: MonitoringSystem = Depends(get_system)
) -> None:
    await system.remove_monitoring_config(config_id, principal.organization_id)


@router.post("/{config_id}/pause", summary="Stop scheduling a config")
async def pause_config(
    config_id: str, principal: Principal = Depends(require_writer), system: MonitoringSystem = Depends(get_system)
) -> dict[str, Any]:
    return _public(await system.pause_monitoring_config(config_id, principal.organization_id))


@router.post("/{config_id}/resume", summary="Schedule a paused config again (it runs right away)")
async def resume_config(
    config_id: str, principal: Principal = Depends(require_writer), system: MonitoringSystem = Depends(get_system)
) -> dict[str, Any]:
    return _public(await system.resume_monitoring_config(config_id, principal.organization_id))


@router.post("/{config_id}/scan", status_code=status.HTTP_202_ACCEPTED, summary="Scan now, outside the schedule")
async def scan_now(
    config_id: str, principal: Principal = Depends(require_writer), system: MonitoringSystem = Depends(get_system)
) -> dict[str, Any]:
    scan_id = await system.scan_now(config_id, principal.organization_id)
    return {"scan_id": scan_id, "status": "queued"}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
