"""/api/v1/auth: exchange an organization's API key for a short-lived JWT (the dashboard's sign-in),
tell a caller who it is, and revoke a JWT before it expires. `techscaniq token --organization ORG`
mints tokens without an API key; `techscaniq token revoke TOKEN_OR_JTI` revokes one."""

from __future__ import annotations

import math
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from techscaniq.accounts.authentication import API_KEY_PREFIX, principal_of_credential
from techscaniq.api.auth import (
    STORED_KEY_CLAIM_PREFIX,
    AuthError,
    Principal,
    Role,
    api_key_id,
    create_token,
    principal_of_api_key,
)
from techscaniq.api.dependencies import WINDOW_SECONDS, get_principal, get_services
from techscaniq.api.errors import FieldError, ForbiddenError, RateLimitedError
from techscaniq.api.ratelimit import RateLimiter
from techscaniq.api.revocation import JTI_ONLY_RETENTION, revocation_target
from techscaniq.api.services import ApiServices
from techscaniq.domain.common import utcnow

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])



class TokenRequest(BaseModel):
    api_key: str | None = Field(default=None, max_length=500, description="or send it as X-API-Key")
    role: Role | None = Field(default=None, description="default: the key's role (API_KEYS keys: admin); viewer "
                              "gives a read-only token; never more than the key's role")
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
                      services: ApiServices = Depends(get_services)) -> TokenResponse:
    settings = services.settings
    limiter: RateLimiter = request.app.state.rate_limiter
    client = request.client.host if request.client else "unknown"
    allowed, retry_after = await limiter.hit(f"auth:{client}", settings.rate_limit_per_minute, WINDOW_SECONDS)
    if not allowed:
        raise RateLimitedError("key", max(1, math.ceil(retry_after)))
    body = body or TokenRequest()
    api_key = body.api_key or request.headers.get("x-api-key")
    if not api_key:
        raise AuthError("missing api_key (in the body or as X-API-Key)")
    # Only a key from API_KEYS: a JWT (even a valid one) is never exchanged, so a viewer token cannot
    # come back as admin, a revoked token cannot come back fresh, and no token renews itself forever.
    principal = principal_of_api_key(settings, api_key)
    key_id = api_key_id(api_key)
    if principal is None and api_key.startswith(API_KEY_PREFIX):  # a key created in the API
        principal = await principal_of_credential(services, api_key)
        key_id = f"{STORED_KEY_CLAIM_PREFIX}{principal.api_key_id}"
    if principal is None:
        raise AuthError("api_key is not an API key of any organization (tokens cannot be exchanged for tokens)")
    role = body.role or principal.role
    if not principal.role.allows(role):
        raise FieldError("role", f"a token cannot outrank its key ({principal.role.value})")
    minutes = min(body.expires_minutes or settings.jwt_expiry_minutes, settings.jwt_expiry_minutes)
    token = create_token(settings, principal.organization_id, role, principal.subject, minutes, key_id=key_id)
    return TokenResponse(access_token=token, expires_in=minutes * 60, organization_id=principal.organization_id,
                         role=role)


@router.get("/me", summary="Who the credentials belong to")
async def whoami(principal: Principal = Depends(get_principal)) -> Identity:
    return Identity(organization_id=principal.organization_id, role=principal.role, subject=principal.subject,
                    can_write=principal.can_write)



class RevokeRequest(BaseModel):
    token: str | None = Field(default=None, max_length=8192, description="the JWT to revoke")
    jti: str | None = Field(default=None, min_length=1, max_length=200,
                            description="or only its id (the token's `jti` claim)")
    reason: str = Field(default="", max_length=500, description="kept with the revocation, for the audit trail")


class RevokeResponse(BaseModel):
    jti: str
    organization_id: str
    revoked: bool = Field(description="always true: revoking again, or revoking an expired token, is not an error")
    expires_at: datetime = Field(description="when the revocation record is dropped (the token is dead by then)")


@router.post("/revoke", summary="Revoke a JWT before it expires (admin of its organization, or the token itself)")
async def revoke_token(body: RevokeRequest, principal: Principal = Depends(get_principal),
                       services: ApiServices = Depends(get_services)) -> RevokeResponse:
    """Refused at once on this replica and within 30 s on every other. Idempotent. API keys are
    revoked by removing them from API_KEYS, not here."""
    jti, organization_id, expires_at = _target(services, body, principal)
    is_self = principal.token_id == jti and principal.organization_id == organization_id
    if not is_self:
        if organization_id != principal.organization_id:
            raise ForbiddenError("token: it belongs to another organization")
        if not principal.role.allows(Role.ADMIN):
            raise ForbiddenError("revoking another token needs the admin role")
    if expires_at > utcnow():  # an expired token is refused anyway: nothing to store
        await services.revocations.revoke(jti, organization_id, expires_at, body.reason)
    return RevokeResponse(jti=jti, organization_id=organization_id, revoked=True, expires_at=expires_at)


def _target(services: ApiServices, body: RevokeRequest, principal: Principal) -> tuple[str, str, datetime]:
    """(jti, organization, expiry) of the token the request names."""
    if (body.token is None) == (body.jti is None):
        raise FieldError("token", "send either token (the JWT) or jti (its id), not both or neither")
    if body.token is not None:
        try:
            return revocation_target(services.settings, body.token)
        except ValueError as exc:
            raise FieldError("token", str(exc)) from None
    assert body.jti is not None
    # Only in the caller's organization: a jti of another organization's token is not ours to revoke.
    if body.jti == principal.token_id and principal.token_expires_at is not None:
        return body.jti, principal.organization_id, principal.token_expires_at
    return body.jti, principal.organization_id, utcnow() + JTI_ONLY_RETENTION
