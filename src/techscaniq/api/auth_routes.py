"""/api/v1/auth: exchange an organization's API key for a short-lived JWT (the dashboard's sign-in),
and tell a caller who it is. `techscaniq token --organization ORG` mints tokens without an API key."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from techscaniq.api.auth import AuthError, Principal, Role, create_token, principal_from_credentials
from techscaniq.api.dependencies import WINDOW_SECONDS, get_principal, get_system
from techscaniq.api.errors import RateLimitedError
from techscaniq.api.ratelimit import RateLimiter
from techscaniq.system import MonitoringSystem

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenRequest(BaseModel):
    api_key: str | None = Field(default=None, max_length=500, description="or send it as X-API-Key")
    role: Role = Field(default=Role.ADMIN, description="viewer gives a read-only token")
    expires_minutes: int | None = Field(default=None, ge=1, le=24 * 60)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    organization_id: str
    role: Role


class Identity(BaseModel):
    organization_id: str
    role: Role
    subject: str
    can_write: bool


@router.post("/token", summary="Exchange an organization API key for a short-lived JWT")
async def issue_token(request: Request, body: TokenRequest | None = None,
                      system: MonitoringSystem = Depends(get_system)) -> TokenResponse:
    settings = system.settings
    limiter: RateLimiter = request.app.state.rate_limiter
    client = request.client.host if request.client else "unknown"
    allowed, retry_after = await limiter.hit(f"auth:{client}", settings.rate_limit_per_minute, WINDOW_SECONDS)
    if not allowed:
        raise RateLimitedError("key", max(1, math.ceil(retry_after)))
    body = body or TokenRequest()
    api_key = body.api_key or request.headers.get("x-api-key")
    if not api_key:
        raise AuthError("missing api_key (in the body or as X-API-Key)")
    principal = principal_from_credentials(settings, api_key)
    if not principal.subject.startswith("api-key:"):
        raise AuthError("api_key is not an API key of any organization")
    minutes = min(body.expires_minutes or settings.jwt_expiry_minutes, settings.jwt_expiry_minutes)
    token = create_token(settings, principal.organization_id, body.role, principal.subject, minutes)
    return TokenResponse(access_token=token, expires_in=minutes * 60, organization_id=principal.organization_id,
                         role=body.role)


@router.get("/me", summary="Who the credentials belong to")
async def whoami(principal: Principal = Depends(get_principal)) -> Identity:
    return Identity(organization_id=principal.organization_id, role=principal.role, subject=principal.subject,
                    can_write=principal.can_write)

