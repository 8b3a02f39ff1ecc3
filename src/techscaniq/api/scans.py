"""/api/v1/scans: the history of scans, filtered and paginated, within one organization."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import MAX_OFFSET, get_principal, get_services
from techscaniq.api.errors import NotFoundError
from techscaniq.api.services import ApiServices
from techscaniq.domain.scan import ScanStatus
from techscaniq.realtime.messages import scan_summary

router = APIRouter(prefix="/api/v1/scans", tags=["scans"])


@router.get("", summary="Scans, newest first")
async def list_scans(
    config_id: str | None = None, status: ScanStatus | None = None, since: datetime | None = None,
    until: datetime | None = None, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    summary: bool = Query(False, description="compact scans (status, grade, stack, headline timings)"),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> list[dict[str, Any]]:
    scans = await services.storage.scans.find(
        config_id=config_id, organization_id=principal.organization_id, status=status, since=since, until=until,
        limit=limit, offset=offset,
    )
    return [scan_summary(scan) if summary else scan.model_dump(mode="json") for scan in scans]


@router.get("/{scan_id}", summary="One scan with its full result")
async def get_scan(
    scan_id: str, principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    scan = await services.storage.scans.get(scan_id, principal.organization_id)
    if scan is None:
        raise NotFoundError(f"no scan with id {scan_id!r}")
    return scan.model_dump(mode="json")


@router.get("/{scan_id}/body", summary="The response body the scan fetched, as stored (a download)",
            response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
async def get_scan_body(
    scan_id: str, principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services)
) -> Response:
    if await services.storage.scans.get(scan_id, principal.organization_id) is None:
        raise NotFoundError(f"no scan with id {scan_id!r}")
    body = await services.storage.scans.body(scan_id)
    if body is None:
        raise NotFoundError(f"scan {scan_id!r} has no stored body")
    # Never rendered from our origin: a scanned page's scripts must not run next to the dashboard.
    return Response(body, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="scan-{scan_id[:40]}.body"',
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
    })
