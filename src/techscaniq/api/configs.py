"""/api/v1/configs: create, read, update, delete, pause, resume, scan now, import and export — within
one organization. Secrets are masked on output; a masked value sent back means "unchanged"."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from techscaniq.api.auth import Principal, Role
from techscaniq.api.config_cursor import decode_cursor, encode_cursor
from techscaniq.api.config_documents import ImportOutcome, export_chunks, import_configs, parse_document
from techscaniq.api.dependencies import MAX_OFFSET, get_principal, get_services, require_writer
from techscaniq.api.errors import ConflictError, FieldError, ForbiddenError, RateLimitedError
from techscaniq.api.masking import refuse_masked, restore_masked
from techscaniq.api.ratelimit import RateLimiter
from techscaniq.api.services import ApiServices
from techscaniq.domain.common import REVEAL_SECRETS

router = APIRouter(prefix="/api/v1/configs", tags=["configs"])

CONFIG_EXAMPLE = {
    "name": "Example site",
    "url": "https://example.com",
    "schedule": {"type": "interval", "expression": "5m", "timezone": "UTC"},
    "scan_config": {"technologies": True, "performance": True, "security": True},
}


def _public(config: Any) -> dict[str, Any]:
    data: dict[str, Any] = config.model_dump(mode="json")  # secrets masked
    return data


def _claim_organization(body: dict[str, Any], principal: Principal) -> dict[str, Any]:
    given = body.get("organization_id")
    if given is not None and given != principal.organization_id:
        raise ForbiddenError("organization_id does not match your organization")
    return {**body, "organization_id": principal.organization_id}


@router.get("", summary="List configs (oldest first; a full page answers X-Next-Cursor for the next one)")
async def list_configs(
    response: Response,
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    cursor: str | None = Query(None, max_length=500, description="X-Next-Cursor of the previous page"),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> list[dict[str, Any]]:
    if cursor is not None and offset:
        raise FieldError("offset", "give either offset or cursor, not both", location="query")
    after = decode_cursor(cursor) if cursor is not None else None
    configs = await services.configs.list_monitoring_configs(principal.organization_id, limit=limit, offset=offset,
                                                   after=after)
    if len(configs) == limit:
        response.headers["X-Next-Cursor"] = encode_cursor(configs[-1].created_at, configs[-1].id)
    return [_public(c) for c in configs]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a config (the guide's format)")
async def create_config(
    body: dict[str, Any] = Body(..., examples=[CONFIG_EXAMPLE]), principal: Principal = Depends(require_writer),
    services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    data = _claim_organization(body, principal)
    refuse_masked(data)
    if isinstance(data.get("id"), str) and await services.storage.configs.get(data["id"]) is not None:
        raise ConflictError(f"id {data['id']!r} is already in use")
    config_id = await services.configs.add_monitoring_config(data)
    return _public(await services.configs.get_monitoring_config(config_id))


@router.get("/export", summary="All configs of the organization as a JSON or YAML document",
            responses={200: {"content": {"application/json": {}, "application/yaml": {}}}})
async def export_configs(
    format: Literal["json", "yaml"] = Query("json"),
    include_secrets: bool = Query(False, description="admin only: secrets in clear, for a backup or a move"),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> Response:
    if include_secrets and not principal.role.allows(Role.ADMIN):
        raise ForbiddenError("include_secrets needs the admin role")
    context = REVEAL_SECRETS if include_secrets else None
    chunks = export_chunks(services.storage.configs, principal.organization_id, format, context)
    # The first page is read before the answer starts: a database that cannot answer gets its 503, not a 200
    # cut short.
    first = await anext(chunks)

    async def document() -> AsyncIterator[str]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(document(), media_type=f"application/{format}",
                             headers={"Content-Disposition": f'attachment; filename="techscaniq-configs.{format}"'})


@router.post(
    "/import", summary="Create or update configs from a JSON or YAML document (a list, or {configs: [...]})",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/yaml": {"schema": {"type": "string"}},
    }}},
)
async def import_configs_route(
    request: Request, dry_run: bool = Query(False, description="validate only, store nothing"),
    principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services),
) -> ImportOutcome:
    # Off the event loop: a 5 MB document takes a while to parse, and the API answers meanwhile.
    items = await asyncio.to_thread(parse_document, await request.body(), request.headers.get("content-type", ""))
    return await import_configs(services, principal.organization_id, items, dry_run=dry_run)


@router.get("/{config_id}", summary="One config")
async def get_config(
    config_id: str, principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    config = await services.configs.get_monitoring_config(config_id, principal.organization_id)
    return {**_public(config), "next_run_at": _iso(await services.configs.next_run_at(config_id))}


@router.patch("/{config_id}", summary="Change some fields of a config")
@router.put("/{config_id}", summary="Change a config")
async def update_config(
    config_id: str, body: dict[str, Any] = Body(...), principal: Principal = Depends(require_writer),
    services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    _claim_organization(body, principal)
    current = await services.configs.get_monitoring_config(config_id, principal.organization_id)
    changes = restore_masked(dict(body), current.model_dump(mode="json", context=REVEAL_SECRETS))
    refuse_masked(changes)
    config = await services.configs.update_monitoring_config(config_id, changes, principal.organization_id)
    return _public(config)


@router.delete("/{config_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a config")
async def delete_config(
    config_id: str, principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services)
) -> None:
    await services.configs.remove_monitoring_config(config_id, principal.organization_id)


CLONE_FIELDS = ("name", "url", "tags", "schedule", "scan_config", "paused")


@router.post("/{config_id}/clone", status_code=status.HTTP_201_CREATED,
             summary="Copy a config with its rules and channels (secrets too) under a new id; the body may change "
                     "name, url, tags, schedule, scan_config, paused")
async def clone_config(
    config_id: str, body: dict[str, Any] = Body(default_factory=dict, examples=[{"name": "Shop (staging)"}]),
    principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    unknown = sorted(set(body) - set(CLONE_FIELDS))
    if unknown:
        raise FieldError(unknown[0], f"a clone can change only {', '.join(CLONE_FIELDS)}")
    source = await services.configs.get_monitoring_config(config_id, principal.organization_id)
    refuse_masked(body)
    data = {key: value for key, value in source.model_dump(mode="json", context=REVEAL_SECRETS).items()
            if key not in ("id", "created_at", "updated_at")}
    data.update({"name": f"{source.name} (copy)", **body})
    return _public(await services.configs.get_monitoring_config(await services.configs.add_monitoring_config(data)))


@router.post("/{config_id}/pause", summary="Stop scheduling a config")
async def pause_config(
    config_id: str, principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    return _public(await services.configs.pause_monitoring_config(config_id, principal.organization_id))


@router.post("/{config_id}/resume", summary="Schedule a paused config again (it runs right away)")
async def resume_config(
    config_id: str, principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    return _public(await services.configs.resume_monitoring_config(config_id, principal.organization_id))


@router.post("/{config_id}/scan", status_code=status.HTTP_202_ACCEPTED, summary="Scan now, outside the schedule")
async def scan_now(
    config_id: str, request: Request, principal: Principal = Depends(require_writer),
    services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    await services.configs.get_monitoring_config(config_id, principal.organization_id)  # a 404 costs no quota
    limiter: RateLimiter = request.app.state.rate_limiter
    allowed, retry_after = await limiter.hit(f"scan-now:{principal.organization_id}",
                                             services.settings.quota_scan_now_per_minute, 60.0)
    if not allowed:  # QUOTA_SCAN_NOW_PER_MINUTE: scans are the costly part of the deployment
        raise RateLimitedError("scan-now", max(1, math.ceil(retry_after)))
    scan_id = await services.configs.scan_now(config_id, principal.organization_id)
    return {"scan_id": scan_id, "status": "queued"}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None

