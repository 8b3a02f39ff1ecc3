"""FastAPI dependencies: the services, the calling principal (authenticated, allowed by the permission
table, rate limited)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from fastapi import Depends, Request

from techscaniq.accounts.audit import note_principal
from techscaniq.accounts.authentication import credentials_of, principal_of_request
from techscaniq.api.auth import Principal
from techscaniq.api.errors import ForbiddenError, RateLimitedError
from techscaniq.api.permissions import NoPermissionRow, least_role
from techscaniq.api.ratelimit import RateLimiter

if TYPE_CHECKING:
    from techscaniq.api.services import ApiServices

__all__ = ["MAX_OFFSET", "WINDOW_SECONDS", "credentials_of", "get_principal", "get_services", "require_writer"]

WINDOW_SECONDS = 60.0
# Pagination beyond this is a mistake (and SQLite integers are 64-bit): refused with a 422, not a crash.
MAX_OFFSET = 1_000_000


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


async def get_principal(request: Request) -> Principal:
    services = get_services(request)
    settings = services.settings
    principal = await principal_of_request(services, request, request.method)
    note_principal(request.scope, principal)  # the audit trail records who, even when refused below
    authorize(request, principal)
    limiter: RateLimiter = request.app.state.rate_limiter
    # The credential's own limit first: one noisy key does not use up its organization's budget.
    for key, limit in ((f"key:{principal.organization_id}:{principal.subject}", settings.rate_limit_per_minute),
                       (f"org:{principal.organization_id}", settings.organization_rate_limit_per_minute)):
        allowed, retry_after = await limiter.hit(key, limit, WINDOW_SECONDS)
        if not allowed:
            raise RateLimitedError(key.split(":", 1)[0], max(1, math.ceil(retry_after)))
    return principal


def authorize(request: Request, principal: Principal) -> None:
    """403 unless the permission table allows the principal's role this route (api/permissions.py)."""
    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path))
    try:
        needed = least_role(request.method, path)
    except NoPermissionRow:
        raise ForbiddenError(f"{request.method} {path} has no row in the permission table: refused") from None
    if needed is not None and not principal.role.allows(needed):
        raise ForbiddenError(f"this action needs the {needed.value} role (you are {principal.role.value})")


async def require_writer(principal: Principal = Depends(get_principal)) -> Principal:
    if not principal.can_write:
        raise ForbiddenError("this action needs the editor role")
    return principal
