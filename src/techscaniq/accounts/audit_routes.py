"""/api/v1/audit: the organization's audit log for owners and admins, newest first, and its export."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from techscaniq.accounts.models import AuditEntry
from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import MAX_OFFSET, get_principal, get_services
from techscaniq.api.services import ApiServices

router = APIRouter(prefix="/api/v1/audit", tags=["access"])

EXPORT_PAGE = 1000


class AuditRecord(BaseModel):
    id: str
    at: datetime
    actor: str
    address: str
    action: str
    target: str
    outcome: int
    details: dict[str, Any]


@router.get("", summary="Audit entries, newest first (who, when, from where, what, the answer's status)")
async def audit_log(
    since: datetime | None = None, until: datetime | None = None,
    action: str | None = Query(None, max_length=200, description="e.g. 'POST /api/v1/configs'"),
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> list[AuditRecord]:
    entries = await services.storage.audit.find(principal.organization_id, since=since, until=until, action=action,
                                              limit=limit, offset=offset)
    return [_record(entry) for entry in entries]


@router.get("/export", summary="The whole audit log (or a time range) as JSON lines, newest first")
async def export_audit_log(since: datetime | None = None, until: datetime | None = None,
                           principal: Principal = Depends(get_principal),
                           services: ApiServices = Depends(get_services)) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        offset = 0
        while True:
            page = await services.storage.audit.find(principal.organization_id, since=since, until=until,
                                                   limit=EXPORT_PAGE, offset=offset)
            for entry in page:
                yield json.dumps(_record(entry).model_dump(mode="json")) + "\n"
            if len(page) < EXPORT_PAGE:
                return
            offset += EXPORT_PAGE

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="audit-{principal.organization_id}.jsonl"'})


def _record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(id=entry.id, at=entry.at, actor=entry.actor, address=entry.address, action=entry.action,
                       target=entry.target, outcome=entry.outcome, details=entry.details)
