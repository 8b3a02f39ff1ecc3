"""/api/v1/sso: an organization's OpenID Connect settings (owners set them, admins see them without the
secret), and the sign-in itself: /api/v1/sso/{organization}/login redirects to the provider, whose answer
comes back to /api/v1/sso/callback, which signs the person in (creating the account on first sign-in) with
the role their claims map to."""

from __future__ import annotations

import time
from typing import Any

import jwt as pyjwt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from techscaniq.accounts.audit import note_organizations
from techscaniq.accounts.first_run import public_url
from techscaniq.accounts.models import SsoConfig
from techscaniq.accounts.oidc import (
    Flow,
    SsoError,
    authorization_url,
    new_flow,
    provider_metadata,
    role_of,
    signed_in_claims,
)
from techscaniq.accounts.sign_in import is_https, limit_attempts, start_session
from techscaniq.api.auth import ALGORITHM, Principal, Role, signing_key
from techscaniq.api.dependencies import get_principal, get_services
from techscaniq.api.errors import FieldError, NotFoundError
from techscaniq.api.masking import MASK
from techscaniq.api.services import ApiServices
from techscaniq.domain.common import utcnow

router = APIRouter(prefix="/api/v1/sso", tags=["access"])

FLOW_COOKIE = "techscaniq_sso"
CALLBACK = "/api/v1/sso/callback"
FLOW_SECONDS = 600


class SsoSettings(BaseModel):
    issuer: str = Field(pattern=r"^https?://", max_length=500, description="e.g. https://login.example.com/realms/x")
    client_id: str = Field(min_length=1, max_length=300)
    client_secret: str = Field(min_length=1, max_length=2000, description=f"answered as {MASK}; send {MASK} to keep")
    role_claim: str = Field(default="groups", pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    role_map: dict[str, Role] = Field(default_factory=dict, description="claim value -> role, e.g. "
                                      "{\"monitoring-admins\": \"admin\"}; the highest match wins")
    default_role: Role | None = Field(default=None, description="for people no value maps; null refuses them")


class SsoAnswer(SsoSettings):
    login_url: str = Field(description="where people of this organization start signing in")
    redirect_uri: str = Field(description="register it at the provider as the client's redirect URI")


@router.get("", summary="The organization's single sign-on settings (the secret masked)")
async def get_sso(principal: Principal = Depends(get_principal),
                  services: ApiServices = Depends(get_services)) -> SsoAnswer:
    config = await services.storage.sso.get(principal.organization_id)
    if config is None:
        raise NotFoundError("single sign-on is not set up for this organization")
    return _answer(services, config)


@router.put("", summary="Set up single sign-on (the provider's discovery document is checked now)")
async def put_sso(body: SsoSettings, principal: Principal = Depends(get_principal),
                  services: ApiServices = Depends(get_services)) -> SsoAnswer:
    secret = body.client_secret
    if secret == MASK:
        current = await services.storage.sso.get(principal.organization_id)
        if current is None:
            raise FieldError("client_secret", "send the secret itself (there is none to keep)")
        secret = current.client_secret
    try:
        await provider_metadata(services.settings, body.issuer)
    except SsoError as exc:
        raise FieldError("issuer", str(exc)) from None
    config = SsoConfig(principal.organization_id, body.issuer, body.client_id, secret, body.role_claim,
                       {value: role.value for value, role in body.role_map.items()},
                       body.default_role.value if body.default_role else None)
    await services.storage.sso.put(config, utcnow())
    return _answer(services, config)


@router.delete("", summary="Turn single sign-on off (accounts stay; they sign in with a password or a reset)")
async def delete_sso(principal: Principal = Depends(get_principal),
                     services: ApiServices = Depends(get_services)) -> dict[str, bool]:
    return {"deleted": await services.storage.sso.delete(principal.organization_id)}


@router.get("/{organization_id}/login", summary="Start signing in with the organization's identity provider")
async def login(organization_id: str, request: Request,
                services: ApiServices = Depends(get_services)) -> RedirectResponse:
    await limit_attempts(request, services, "sso")
    config = await services.storage.sso.get(organization_id)
    if config is None:
        raise NotFoundError(f"single sign-on is not set up for {organization_id!r}")
    try:
        metadata = await provider_metadata(services.settings, config.issuer)
    except SsoError as exc:
        return _back_to_login(str(exc))
    flow = new_flow(organization_id)
    response = RedirectResponse(authorization_url(metadata, config, flow, _redirect_uri(services)), 302)
    cookie = pyjwt.encode({"org": flow.organization_id, "state": flow.state, "nonce": flow.nonce,
                           "verifier": flow.verifier, "exp": int(time.time()) + FLOW_SECONDS},
                          signing_key(services.settings), algorithm=ALGORITHM)
    # Lax, not Strict: the provider's redirect back is a navigation from its site, which must carry it.
    response.set_cookie(FLOW_COOKIE, cookie, max_age=FLOW_SECONDS, path=CALLBACK, httponly=True, samesite="lax",
                        secure=is_https(request))
    return response


@router.get("/callback", summary="Where the identity provider sends the person back (signs them in)")
async def callback(request: Request, code: str | None = None, state: str | None = None, error: str | None = None,
                   services: ApiServices = Depends(get_services)) -> RedirectResponse:
    flow = _flow(services, request.cookies.get(FLOW_COOKIE))
    if error is not None or flow is None or code is None or state != flow.state:
        return _back_to_login(f"single sign-on failed: {error or 'the sign-in expired or was not started here'}")
    config = await services.storage.sso.get(flow.organization_id)
    if config is None:
        return _back_to_login("single sign-on was turned off for this organization")
    note_organizations(request.scope, [flow.organization_id])
    try:
        metadata = await provider_metadata(services.settings, config.issuer)
        claims = await signed_in_claims(services.settings, metadata, config, flow, code, _redirect_uri(services))
    except SsoError as exc:
        return _back_to_login(str(exc))
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        return _back_to_login("single sign-on: the provider gave no verified email address")
    note_organizations(request.scope, [flow.organization_id], f"user:{email.lower()}")
    role = role_of(config, claims)
    if role is None:
        return _back_to_login("single sign-on: your account has no role in this organization (ask its owner)")
    accounts = services.storage.accounts
    user = await accounts.user_by_email(email) or await accounts.add_user(email, None, utcnow(),
                                                                          str(claims.get("name", ""))[:300])
    current = await accounts.membership(user.id, flow.organization_id)
    if current is None or current.role != Role.OWNER.value:  # owners are managed here, not by the provider
        await accounts.set_membership(user.id, flow.organization_id, role.value, utcnow())
    response = RedirectResponse("/", 302)
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK)
    await start_session(services, request, response, user.id, flow.organization_id)
    return response


def _flow(services: ApiServices, cookie: str | None) -> Flow | None:
    if not cookie:
        return None
    try:
        claims: dict[str, Any] = pyjwt.decode(cookie, signing_key(services.settings), algorithms=[ALGORITHM])
        return Flow(str(claims["org"]), str(claims["state"]), str(claims["nonce"]), str(claims["verifier"]))
    except (pyjwt.PyJWTError, KeyError):
        return None


def _redirect_uri(services: ApiServices) -> str:
    return f"{public_url(services)}{CALLBACK}"


def _back_to_login(message: str) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(f"/static/login.html#error={quote(message[:300])}", 302)


def _answer(services: ApiServices, config: SsoConfig) -> SsoAnswer:
    return SsoAnswer(issuer=config.issuer, client_id=config.client_id, client_secret=MASK,
                     role_claim=config.role_claim, role_map={k: Role(v) for k, v in config.role_map.items()},
                     default_role=Role(config.default_role) if config.default_role else None,
                     login_url=f"{public_url(services)}/api/v1/sso/{config.organization_id}/login",
                     redirect_uri=_redirect_uri(services))
