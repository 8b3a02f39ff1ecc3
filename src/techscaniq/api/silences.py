"""/api/v1/silences: silences and maintenance windows of the organization (alerts inside one are
recorded, nobody is notified)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, status

from techscaniq.alerts.silences import Silence
from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import get_principal, get_services, require_writer
from techscaniq.api.errors import NotFoundError
from techscaniq.api.services import ApiServices

router = APIRouter(prefix="/api/v1/silences", tags=["silences"])

SILENCE_EXAMPLE = {"kind": "maintenance", "weekdays": [6], "daily_start": "02:00", "daily_end": "04:00",
                   "timezone": "Europe/Berlin", "comment": "Sunday deploys"}


@router.get("", summary="Silences and maintenance windows")
async def list_silences(
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services)
) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in await services.silences.list(principal.organization_id)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a silence or maintenance window")
async def add_silence(
    body: dict[str, Any] = Body(..., examples=[SILENCE_EXAMPLE]), principal: Principal = Depends(require_writer),
    services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    silence = Silence.model_validate({**body, "organization_id": principal.organization_id,
                                      "created_by": principal.subject})
    if silence.config_id is not None:
        # 404 for another tenant
        await services.configs.get_monitoring_config(silence.config_id, principal.organization_id)
    await services.silences.add(silence)
    return silence.model_dump(mode="json")


@router.delete("/{silence_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a silence")
async def remove_silence(
    silence_id: str, principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services)
) -> None:
    if not await services.silences.remove(silence_id, principal.organization_id):
        raise NotFoundError(f"no silence with id {silence_id!r}")
