"""FastAPI dependencies: the system, the calling principal (authenticated and rate limited)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from fastapi import Depends, Request

from techscaniq.api.auth import Principal, principal_from_credentials
from techscaniq.api.errors import ForbiddenError, RateLimitedError
from techscaniq.api.ratelimit import RateLimiter

if TYPE_CHECKING:
    from techscaniq.system import MonitoringSystem

WINDOW_SECONDS = 60.0
# Pagination beyond this is a mistake (and SQLite integers are 64-bit): refused with a 422, not a crash.
MAX_OFFSET = 1_000_000


def get_system(request: Request) -> MonitoringSystem:
    system: MonitoringSystem = request.app.state.system
    return system


def credentials_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return token or request.headers.get("x-api-key")


async def get_principal(request: Request) -> Principal:
    system = get_system(request)
    settings = system.settings
    principal = principal_from_credentials(settings, credentials_of(request), system.revocations)
    limiter: RateLimiter = request.app.state.rate_limiter
    # The credential's own limit first: one noisy key does not use up its organization's budget.
    for key, limit in ((f"key:{principal.organization_id}:{principal.subject}", settings.rate_limit_per_minute),
                       (f"org:{principal.organization_id}", settings.organization_rate_limit_per_minute)):
        allowed, retry_after = await limiter.hit(key, limit, WINDOW_SECONDS)
        if not allowed:
            raise RateLimitedError(key.split(":", 1)[0], max(1, math.ceil(retry_after)))
    return principal


async def require_writer(principal: Principal = Depends(get_principal)) -> Principal:
    if not principal.can_write:
        raise ForbiddenError("this action needs the admin role")
    return principal
