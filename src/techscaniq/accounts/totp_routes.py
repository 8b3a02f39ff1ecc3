"""/api/v1/session/totp: a signed-in person turns the TOTP second factor on (set up, then confirm with a
code, which gives the recovery codes once) or off (with a code)."""

from __future__ import annotations

import segno
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from techscaniq.accounts.models import User
from techscaniq.accounts.secrets import token_hash
from techscaniq.accounts.totp import code_matches, new_recovery_codes, new_secret, provisioning_uri, second_factor_ok
from techscaniq.api.auth import AuthError, Principal
from techscaniq.api.dependencies import get_principal, get_services
from techscaniq.api.errors import ConflictError, FieldError
from techscaniq.api.services import ApiServices

router = APIRouter(prefix="/api/v1/session/totp", tags=["access"])


class TotpSetup(BaseModel):
    secret: str = Field(description="for the authenticator app (or scan otpauth_uri as a QR code)")
    otpauth_uri: str
    qr_svg: str = Field(description="otpauth_uri as a QR code: an SVG data: URI, for an <img>")


class Code(BaseModel):
    code: str = Field(min_length=6, max_length=20, description="the app's current code, or a recovery code")


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="shown only now; each signs in once without the app")


@router.post("", summary="Start setting up TOTP (confirm with a code to turn it on)")
async def start_totp(principal: Principal = Depends(get_principal),
                     services: ApiServices = Depends(get_services)) -> TotpSetup:
    user = await _user(services, principal)
    if user.totp_enabled:
        raise ConflictError("TOTP is on already (turn it off first to set up another app)")
    secret = new_secret()
    await services.storage.accounts.set_totp(user.id, services.storage.secrets.encrypt(secret), None)
    uri = provisioning_uri(secret, user.email)
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=segno.make(uri, error="m").svg_data_uri(scale=4))


@router.post("/confirm", summary="Turn TOTP on with the app's current code; answers the recovery codes")
async def confirm_totp(body: Code, principal: Principal = Depends(get_principal),
                       services: ApiServices = Depends(get_services)) -> RecoveryCodes:
    user = await _user(services, principal)
    if user.totp_secret is None or user.totp_enabled:
        raise ConflictError("nothing to confirm: start with POST /api/v1/session/totp")
    if not code_matches(services.storage.secrets.decrypt(user.totp_secret), body.code):
        raise FieldError("code", "not the app's current code")
    codes = new_recovery_codes()
    await services.storage.accounts.set_totp(user.id, user.totp_secret, [token_hash(code) for code in codes])
    return RecoveryCodes(recovery_codes=codes)


@router.delete("", summary="Turn TOTP off (needs a current code or a recovery code)")
async def remove_totp(body: Code, principal: Principal = Depends(get_principal),
                      services: ApiServices = Depends(get_services)) -> dict[str, bool]:
    user = await _user(services, principal)
    if not user.totp_enabled:
        raise ConflictError("TOTP is off")
    if not await second_factor_ok(services, user, body.code):
        raise FieldError("code", "not a current code or an unused recovery code")
    await services.storage.accounts.set_totp(user.id, None, None)
    return {"totp": False}


async def _user(services: ApiServices, principal: Principal) -> User:
    user = await services.storage.accounts.user(principal.user_id) if principal.user_id else None
    if user is None:
        raise AuthError("not signed in as a person (tokens and API keys have no second factor)")
    return user
