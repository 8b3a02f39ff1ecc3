"""/api/v1/fingerprints/custom: an organization's own technologies (Wappalyzer format), merged with
the shared database for that organization's scans only. Stored in the database: they survive restarts
and reach every replica within 30 seconds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, status

from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import get_principal, get_services, require_writer
from techscaniq.api.errors import BadRequestError
from techscaniq.api.services import ApiServices

router = APIRouter(prefix="/api/v1/fingerprints", tags=["fingerprints"])

EXAMPLE = {"Acme CMS": {"cats": [1], "headers": {"X-Powered-By": "AcmeCMS(?:/([\\d.]+))?\\;version:\\1"}}}


@router.put("/custom", summary="Replace the organization's custom fingerprints (technologies.json format)")
async def set_custom(
    body: dict[str, Any] = Body(..., examples=[EXAMPLE]), principal: Principal = Depends(require_writer),
    services: ApiServices = Depends(get_services),
) -> dict[str, Any]:
    try:
        warnings = await services.fingerprints.set_custom_fingerprints(principal.organization_id, body)
    except ValueError as exc:
        raise BadRequestError(f"fingerprints: {exc}") from None
    return {"technologies": len(body), "warnings": warnings}


@router.get("/custom", summary="The organization's custom technologies, and the patterns disabled for it")
async def get_custom(
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services)
) -> dict[str, Any]:
    """`disabled` lists patterns that no longer run in this organization's scans, with the reason (a search
    over its time budget, found by any replica: it stops running on all of them within 30 s); uploading the
    fingerprints again re-enables them."""
    return await services.disabled_patterns.status(principal.organization_id)


@router.delete("/custom", status_code=status.HTTP_204_NO_CONTENT, summary="Remove the custom fingerprints")
async def remove_custom(
    principal: Principal = Depends(require_writer), services: ApiServices = Depends(get_services)
) -> None:
    await services.fingerprints.set_custom_fingerprints(principal.organization_id, None)
