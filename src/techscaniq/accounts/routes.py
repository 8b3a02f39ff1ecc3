"""/api/v1/setup and /api/v1/session: the first owner, signing in and out of the dashboard, switching
organization. The session is an HttpOnly cookie; its CSRF token is only ever in this API's answers."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from techscaniq.accounts.audit import note_organizations
from techscaniq.accounts.authentication import end_sessions
from techscaniq.accounts.first_run import SETUP, organization_id_of
from techscaniq.accounts.models import Session
from techscaniq.accounts.secrets import hash_password, password_problem, token_hash
from techscaniq.accounts.sign_in import check_password, end_session_cookie, limit_attempts, start_session
from techscaniq.accounts.totp import second_factor_ok
from techscaniq.api.auth import AuthError, Principal, Role
from techscaniq.api.dependencies import get_principal, get_services
from techscaniq.api.errors import FieldError, ForbiddenError
from techscaniq.api.services import ApiServices
from techscaniq.domain.common import utcnow
from techscaniq.storage.sql.accounts import DuplicateError

router = APIRouter(prefix="/api/v1", tags=["access"])

TOTP_REQUIRED = "code: this account has a second factor; send the authenticator app's current code"
EMAIL = r"^[^@\s]{1,200}@[^@\s]{1,200}\.[^@\s]{1,60}$"


class SetupStatus(BaseModel):
    needed: bool = Field(description="true until the first owner exists")


class SetupRequest(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="from the setup link the start banner printed")
    email: str = Field(pattern=EMAIL, max_length=320)
    password: str = Field(max_length=1000)
    name: str = Field(default="", max_length=300)
    organization_name: str = Field(min_length=1, max_length=300)


class SignInRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)
    organization_id: str | None = Field(default=None, max_length=200, description="default: the first one")
    code: str | None = Field(default=None, max_length=20, description="with TOTP on: the app's current code or "
                             "a recovery code")


class OrganizationChoice(BaseModel):
    organization_id: str = Field(min_length=1, max_length=200)


class MembershipInfo(BaseModel):
    organization_id: str
    organization_name: str
    role: Role


class SessionInfo(BaseModel):
    user_id: str
    email: str
    name: str
    organization_id: str
    role: Role
    organizations: list[MembershipInfo]
    csrf_token: str = Field(description="send it as X-CSRF-Token with every change made with this session")
    expires_at: datetime
    totp_enabled: bool = Field(description="whether sign-in needs the second factor")


@router.get("/setup", summary="Whether the first owner still has to be created")
async def setup_status(services: ApiServices = Depends(get_services)) -> SetupStatus:
    return SetupStatus(needed=await services.storage.accounts.count_users() == 0)


@router.post("/setup", summary="Create the first owner and organization with the one-time setup token")
async def complete_setup(body: SetupRequest, request: Request, response: Response,
                         services: ApiServices = Depends(get_services)) -> SessionInfo:
    await limit_attempts(request, services, "setup")
    storage = services.storage
    if await storage.accounts.count_users():
        raise ForbiddenError("setup is done: an owner exists (sign in, or ask an owner for an invitation)")
    problem = password_problem(body.password)
    if problem is not None:
        raise FieldError("password", problem)
    if await storage.one_time_tokens.use(token_hash(body.token), SETUP, utcnow()) is None:
        raise AuthError("token: not a valid setup token (each works once; restart to print a new link)")
    now = utcnow()
    organization_id = organization_id_of(body.organization_name)
    user = await storage.accounts.add_user(body.email, await hash_password(body.password), now, body.name)
    with contextlib.suppress(DuplicateError):  # an organization of API_KEYS: the first owner takes it
        await storage.accounts.add_organization(organization_id, body.organization_name, now)
    await storage.accounts.set_membership(user.id, organization_id, Role.OWNER.value, now)
    await storage.one_time_tokens.discard(SETUP)  # the other links printed by other replicas die too
    note_organizations(request.scope, [organization_id], f"user:{user.email}")
    session = await start_session(services, request, response, user.id, organization_id)
    return await session_info(services, session)


@router.post("/session", summary="Sign in to the dashboard with email and password (sets the session cookie)")
async def sign_in(body: SignInRequest, request: Request, response: Response,
                  services: ApiServices = Depends(get_services)) -> SessionInfo:
    await limit_attempts(request, services, "sign-in")
    known = await services.storage.accounts.user_by_email(body.email)
    if known is not None:  # failed attempts show in the audit log of every organization of the account
        note_organizations(request.scope, [m.organization_id for m in
                                           await services.storage.accounts.memberships_of(known.id)],
                           f"user:{known.email}")
    user = await check_password(services, body.email, body.password)
    if user.totp_enabled:
        if not body.code:
            raise AuthError(TOTP_REQUIRED)
        if not await second_factor_ok(services, user, body.code):
            settings = services.settings
            await services.storage.accounts.record_failed_sign_in(
                user.id, settings.sign_in_max_failures, utcnow() + timedelta(minutes=settings.sign_in_lockout_minutes))
            raise AuthError("code: not the app's current code or an unused recovery code")
    memberships = await services.storage.accounts.memberships_of(user.id)
    if not memberships:
        raise ForbiddenError("you are not a member of any organization: ask an owner or admin for an invitation")
    chosen = memberships[0].organization_id if body.organization_id is None else body.organization_id
    if chosen not in {m.organization_id for m in memberships}:
        raise FieldError("organization_id", f"you are not a member of {chosen!r}")
    session = await start_session(services, request, response, user.id, chosen)
    note_organizations(request.scope, [chosen])
    return await session_info(services, session)


@router.get("/session", summary="The signed-in person, their organizations and the session's CSRF token")
async def current_session(principal: Principal = Depends(get_principal),
                          services: ApiServices = Depends(get_services)) -> SessionInfo:
    return await session_info(services, await _session_of(services, principal))


@router.delete("/session", summary="Sign out (this browser)")
async def sign_out(request: Request, response: Response, principal: Principal = Depends(get_principal),
                   services: ApiServices = Depends(get_services)) -> dict[str, int]:
    session = await _session_of(services, principal)
    await services.storage.sessions.delete(session.id_hash)
    await end_sessions(services, [session], "signed out")
    end_session_cookie(request, response)
    return {"sessions_ended": 1}


@router.post("/session/sign-out-everywhere", summary="End every session of the signed-in person")
async def sign_out_everywhere(request: Request, response: Response, principal: Principal = Depends(get_principal),
                              services: ApiServices = Depends(get_services)) -> dict[str, int]:
    session = await _session_of(services, principal)
    ended = await services.storage.sessions.delete_of_user(session.user_id)
    await end_sessions(services, ended, "signed out everywhere")
    end_session_cookie(request, response)
    return {"sessions_ended": len(ended)}


@router.put("/session/organization", summary="Work in another organization one is a member of")
async def switch_organization(body: OrganizationChoice, principal: Principal = Depends(get_principal),
                              services: ApiServices = Depends(get_services)) -> SessionInfo:
    session = await _session_of(services, principal)
    if await services.storage.accounts.membership(session.user_id, body.organization_id) is None:
        raise FieldError("organization_id", f"you are not a member of {body.organization_id!r}")
    await services.storage.sessions.switch_organization(session.id_hash, body.organization_id)
    return await session_info(services, await _session_of(services, principal))


async def _session_of(services: ApiServices, principal: Principal) -> Session:
    session = await services.storage.sessions.get(principal.session_id) if principal.session_id else None
    if session is None:
        raise AuthError("not signed in with a dashboard session (tokens and API keys have no session)")
    return session


async def session_info(services: ApiServices, session: Session) -> SessionInfo:
    user = await services.storage.accounts.user(session.user_id)
    if user is None:
        raise AuthError("session ended: the account no longer exists")
    memberships = await services.storage.accounts.memberships_of(user.id)
    current = next((m for m in memberships if m.organization_id == session.organization_id), None)
    if current is None:
        raise AuthError("session ended: you are no longer a member of this organization")
    return SessionInfo(
        user_id=user.id, email=user.email, name=user.name, organization_id=session.organization_id,
        role=Role(current.role), csrf_token=session.csrf_token, expires_at=session.expires_at,
        totp_enabled=user.totp_enabled,
        organizations=[MembershipInfo(organization_id=m.organization_id, organization_name=m.organization_name,
                                      role=Role(m.role)) for m in memberships])
