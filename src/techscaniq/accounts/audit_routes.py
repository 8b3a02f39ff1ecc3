"""/api/v1/audit: the organization's audit log for owners and admins, newest first, and its export."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from techscaniq.accounts.models import AuditEntry
from techscaniq.api.auth import Principal
from techscaniq.api.config_cursor import decode_cursor, encode_cursor
from techscaniq.api.dependencies import MAX_OFFSET, get_principal, get_services
from techscaniq.api.errors import FieldError
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


@router.get("", summary="Audit entries, newest first (who, when, from where, what, the answer's status); a full "
            "page answers X-Next-Cursor for the next one")
async def audit_log(
    response: Response,
    since: datetime | None = Query(None, description="entries at or after this time"),
    until: datetime | None = Query(None, description="entries before this time"),
    action: str | None = Query(None, max_length=200, description="exactly, e.g. 'POST /api/v1/configs'"),
    action_prefix: str | None = Query(None, min_length=1, max_length=200, description="actions, or their routes, "
                                      "starting with it: 'DELETE ', '/api/v1/configs' (any method), '/api/v1/sso'"),
    actor: str | None = Query(None, max_length=300, description="who, exactly: 'user:ann@example.com', "
                              "'api-key:<id>'"),
    target: str | None = Query(None, max_length=500, description="what, exactly: the id in the route's path"),
    cursor: str | None = Query(None, max_length=500, description="X-Next-Cursor of the previous page"),
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> list[AuditRecord]:
    if cursor is not None and offset:
        raise FieldError("offset", "give either offset or cursor, not both", location="query")
    if since is not None and until is not None and until <= since:
        raise FieldError("until", "must be after since", location="query")
    entries = await services.storage.audit.find(
        principal.organization_id, since=since, until=until, action=action, action_prefix=action_prefix,
        actor=actor, target=target, after=decode_cursor(cursor) if cursor is not None else None, limit=limit,
        offset=offset)
    if len(entries) == limit:
        response.headers["X-Next-Cursor"] = encode_cursor(entries[-1].at, entries[-1].id)
    return [_record(entry) for entry in entries]


@router.get("/export", summary="The whole audit log (or a time range) as JSON lines, newest first")
async def export_audit_log(since: datetime | None = None, until: datetime | None = None,
                           principal: Principal = Depends(get_principal),
                           services: ApiServices = Depends(get_services)) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        after: tuple[datetime, str] | None = None
        while True:
            page = await services.storage.audit.find(principal.organization_id, since=since, until=until,
                                                   after=after, limit=EXPORT_PAGE)
            for entry in page:
                yield json.dumps(_record(entry).model_dump(mode="json")) + "\n"
            if len(page) < EXPORT_PAGE:
                return
            after = (page[-1].at, page[-1].id)

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="audit-{principal.organization_id}.jsonl"'})


def _record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(id=entry.id, at=entry.at, actor=entry.actor, address=entry.address, action=entry.action,
                       target=entry.target, outcome=entry.outcome, details=entry.details)
