"""/api/v1/search: the portfolio's sites, changes and alerts by query (search/query.py), and the facets behind
the console's portfolio page. Always within the caller's organization."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from techscaniq.api.auth import Principal
from techscaniq.api.dependencies import get_principal, get_services
from techscaniq.api.errors import FieldError
from techscaniq.api.services import ApiServices
from techscaniq.search.backend import MAX_LIMIT, MAX_OFFSET
from techscaniq.search.query import MAX_QUERY_CHARS, Kind, QuerySyntaxError, parse, parse_sort

router = APIRouter(prefix="/api/v1/search", tags=["search"])
log = logging.getLogger("techscaniq.api.search")

Q_DESCRIPTION = ("Free text plus filters, e.g. `tech:WordPress version:<6.5 tag:prod grade:<B changed:<7d`. "
                 "Fields: tech, version, category, grade, score, finding, cve, tag, changed, status (sites); "
                 "tech, version, type, change, impact, tag, changed (changes); status, rule, severity, tag, changed "
                 "(alerts). `-` before a term negates it. See docs/search.md.")


def _query(q: str, kind: Kind) -> Any:
    try:
        return parse(q, kind)
    except QuerySyntaxError as exc:
        raise FieldError("q", str(exc), location="query", kind="query_syntax") from None


def _unavailable(services: ApiServices, exc: Exception) -> JSONResponse:
    log.warning("search backend failed: %s", exc)
    return JSONResponse({"error": "search_unavailable",
                         "detail": f"the search backend ({services.search.description}) is not answering; try again "
                                   "shortly"}, 503)


@router.get("", summary="Search sites, changes or alerts")
async def search(
    q: str = Query("", max_length=MAX_QUERY_CHARS, description=Q_DESCRIPTION),
    kind: Literal["sites", "changes", "alerts"] = "sites",
    limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET),
    sort: str | None = Query(None, max_length=40, description="sites: name, url, grade (best first), score, "
                             "scanned, changed; changes and alerts: changed, impact/severity. `-` first: descending"),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> Any:
    query = _query(q, kind)
    try:
        order = parse_sort(sort, kind)
    except ValueError as exc:
        raise FieldError("sort", str(exc), location="query") from None
    try:
        page = await services.search.search(principal.organization_id, query, order, limit, offset)
    except Exception as exc:
        return _unavailable(services, exc)
    return {"kind": kind, "q": q, "sort": f"{'-' if order.descending else ''}{order.field}", "total": page.total,
            "limit": limit, "offset": offset, "items": page.items}


@router.get("/facets", summary="Technology share, grade distribution and changes per week")
async def facets(
    q: str = Query("", max_length=MAX_QUERY_CHARS, description="Only the sites matching this query (sites fields)"),
    weeks: int = Query(12, ge=1, le=104, description="Changes per week over this many weeks, this one included"),
    principal: Principal = Depends(get_principal), services: ApiServices = Depends(get_services),
) -> Any:
    query = _query(q, "sites")
    try:
        result = await services.search.facets(principal.organization_id, query, weeks)
    except Exception as exc:
        return _unavailable(services, exc)
    return result.as_dict()
