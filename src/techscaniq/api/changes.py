"""/api/v1/changes: what changed on the organization's sites, and marking a change a false positive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import MAX_OFFSET, get_principal, get_services, require_writer
from techscaniq.api.errors import NotFoundError
from techscaniq.api.services import ApiServices
from techscaniq.changes import mark_false_positive
from techscaniq.domain.change import ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.wording import with_change_summary

router = APIRouter(prefix="/api/v1/changes", tags=["changes"])


@router.get("", summary="Changes, newest first")
async def list_changes(
    config_id: str | None = None, scan_id: str | None = None,
    type: ChangeKind | None = Query(None, description="technology, performance, security or availability"),
    min_impact: Impact | None = Query(None, description="low, medium, high or critical (and above)"),
    since: datetime | None = None, until: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> list[dict[str, Any]]:
    changes = await services.storage.changes.find(
        organization_id=principal.organization_id, config_id=config_id, kind=type, min_impact=min_impact,
        since=since, until=until, scan_id=scan_id, limit=limit, offset=offset,
    )
    return [with_change_summary(change.model_dump(mode="json")) for change in changes]


@router.get("/{change_id}", summary="One change with its evidence")
async def get_change(
    change_id: str, principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    change = await services.storage.changes.get(change_id, principal.organization_id)
    if change is None:
        raise NotFoundError(f"no change with id {change_id!r}")
    return with_change_summary(change.model_dump(mode="json"))


@router.post("/{change_id}/false-positive", summary="Mark a change as a false positive")
async def mark(
    change_id: str, principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    return await _set(services, change_id, principal.organization_id, True)


@router.delete("/{change_id}/false-positive", summary="Unmark a false positive")
async def unmark(
    change_id: str, principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    return await _set(services, change_id, principal.organization_id, False)


async def _set(services: ApiServices, change_id: str, organization_id: str, value: bool) -> dict[str, Any]:
    if not await mark_false_positive(services.storage.changes, change_id, organization_id, value):
        raise NotFoundError(f"no change with id {change_id!r}")
    change = await services.storage.changes.get(change_id, organization_id)
    assert change is not None
    return with_change_summary(change.model_dump(mode="json"))
