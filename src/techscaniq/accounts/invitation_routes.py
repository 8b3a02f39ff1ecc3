"""Invitations and password resets, by link (emailed when SMTP_HOST is set). A link's token is in its
#fragment, kept only as its sha256, and works once before it expires."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from techscaniq.accounts.audit import note_organizations
from techscaniq.accounts.authentication import end_sessions
from techscaniq.accounts.first_run import public_url
from techscaniq.accounts.mail import send_link
from techscaniq.accounts.routes import EMAIL, SessionInfo, session_info
from techscaniq.accounts.secrets import hash_password, new_token, password_problem, token_hash
from techscaniq.accounts.sign_in import check_password, limit_attempts, start_session
from techscaniq.api.auth import AuthError, Principal, Role
from techscaniq.api.dependencies import get_principal, get_services
from techscaniq.api.errors import FieldError, ForbiddenError, NotFoundError
from techscaniq.api.services import ApiServices
from techscaniq.domain.common import utcnow

router = APIRouter(prefix="/api/v1", tags=["access"])

INVITE, RESET = "invite", "reset"
INVITATION_DAYS = 7
RESET_HOURS = 1
ACCEPT_PAGE = "/static/accept.html"


class InvitationRequest(BaseModel):
    email: str = Field(pattern=EMAIL, max_length=320)
    role: Role = Field(default=Role.VIEWER, description="at most the inviter's own role")


class Link(BaseModel):
    email: str
    link: str = Field(description="give it to the person (it was emailed too when `emailed` is true)")
    expires_at: datetime
    emailed: bool


class PendingInvitation(BaseModel):
    id: str = Field(description="revoke it with DELETE /api/v1/invitations/{id}")
    email: str
    role: Role
    created_by: str
    created_at: datetime
    expires_at: datetime


class AcceptRequest(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=1000, description="a new password; or the existing one, if the email "
                          "has an account already")
    name: str = Field(default="", max_length=300)


class ResetRequest(BaseModel):
    email: str = Field(max_length=320)


class ResetCompletion(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=1000)


@router.post("/invitations", status_code=status.HTTP_201_CREATED, summary="Invite someone to the organization")
async def invite(body: InvitationRequest, principal: Principal = Depends(get_principal),
                 services: ApiServices = Depends(get_services)) -> Link:
    if not principal.role.allows(body.role):
        raise FieldError("role", f"an invitation cannot outrank its sender ({principal.role.value})")
    organization = await services.storage.accounts.organization_name(principal.organization_id)
    token, expires_at = new_token(), utcnow() + timedelta(days=INVITATION_DAYS)
    await services.storage.one_time_tokens.add(token_hash(token), INVITE, utcnow(), expires_at=expires_at,
                                             organization_id=principal.organization_id, email=body.email.lower(),
                                             role=body.role.value, created_by=principal.subject)
    link = f"{public_url(services)}{ACCEPT_PAGE}#invite={token}"
    emailed = await send_link(services.settings, body.email,
                              f"Invitation to {organization or principal.organization_id} on TechScanIQ",
                              f"You are invited as {body.role.value}. Accept within "
                              f"{INVITATION_DAYS} days:\n\n{link}\n")
    return Link(email=body.email.lower(), link=link, expires_at=expires_at, emailed=emailed)


@router.get("/invitations", summary="The organization's pending invitations (not accepted, not expired), newest "
            "first")
async def pending_invitations(principal: Principal = Depends(get_principal),
                              services: ApiServices = Depends(get_services)) -> list[PendingInvitation]:
    pending = await services.storage.one_time_tokens.pending(principal.organization_id, INVITE, utcnow())
    return [PendingInvitation(id=hashed, email=token.email or "", role=Role(token.role or Role.VIEWER.value),
                              created_by=token.created_by or "", created_at=token.created_at,
                              expires_at=token.expires_at or token.created_at) for hashed, token in pending]


@router.delete("/invitations/{invitation_id}", summary="Revoke a pending invitation: its link stops working")
async def revoke_invitation(invitation_id: str, principal: Principal = Depends(get_principal),
                            services: ApiServices = Depends(get_services)) -> dict[str, str]:
    pending = {hashed: token for hashed, token in
               await services.storage.one_time_tokens.pending(principal.organization_id, INVITE, utcnow())}
    invitation = pending.get(invitation_id)
    if invitation is None:
        raise NotFoundError(f"invitation {invitation_id} not found (accepted, expired, revoked or never issued)")
    if not principal.role.allows(Role(invitation.role or Role.VIEWER.value)):
        raise ForbiddenError(f"revoking an invitation as {invitation.role} needs that role")
    if not await services.storage.one_time_tokens.revoke(invitation_id, principal.organization_id, INVITE):
        raise NotFoundError(f"invitation {invitation_id} not found (accepted or revoked meanwhile)")
    return {"revoked": invitation_id}


@router.post("/invitations/accept", summary="Accept an invitation: join (creating the account if new) and sign in")
async def accept(body: AcceptRequest, request: Request, response: Response,
                 services: ApiServices = Depends(get_services)) -> SessionInfo:
    await limit_attempts(request, services, "invitation")
    storage = services.storage
    invitation = await storage.one_time_tokens.peek(token_hash(body.token), INVITE, utcnow())
    if invitation is None or invitation.email is None or invitation.organization_id is None:
        raise AuthError("token: not a valid invitation (used, expired or never issued)")
    note_organizations(request.scope, [invitation.organization_id], f"user:{invitation.email}")
    existing = await storage.accounts.user_by_email(invitation.email)
    if existing is not None:
        user = await check_password(services, invitation.email, body.password)  # proves it is them
    else:
        problem = password_problem(body.password)
        if problem is not None:
            raise FieldError("password", problem)
        password_hash = await hash_password(body.password)
    if await storage.one_time_tokens.use(token_hash(body.token), INVITE, utcnow()) is None:
        raise AuthError("token: not a valid invitation (used, expired or never issued)")
    if existing is None:
        user = await storage.accounts.add_user(invitation.email, password_hash, utcnow(), body.name)
    await storage.accounts.set_membership(user.id, invitation.organization_id, invitation.role or "viewer", utcnow())
    session = await start_session(services, request, response, user.id, invitation.organization_id)
    return await session_info(services, session)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED,
             summary="Email a password-reset link (the answer is the same whether the account exists or not)")
async def request_reset(body: ResetRequest, request: Request,
                        services: ApiServices = Depends(get_services)) -> dict[str, str]:
    await limit_attempts(request, services, "password-reset")
    user = await services.storage.accounts.user_by_email(body.email)
    if user is not None:
        link, _ = await _reset_link(services, user.id, user.email, "a password reset was asked for your account")
        await send_link(services.settings, user.email, "Reset your TechScanIQ password",
                        f"Set a new password within {RESET_HOURS} hour (ignore this email if you did not ask):"
                        f"\n\n{link}\n")
    return {"detail": "if the address has an account, a reset link was emailed to it"}


@router.post("/members/{user_id}/password-reset", status_code=status.HTTP_201_CREATED,
             summary="A password-reset link for a member (emailed to them too when SMTP is configured)")
async def member_reset(user_id: str, principal: Principal = Depends(get_principal),
                       services: ApiServices = Depends(get_services)) -> Link:
    membership = await services.storage.accounts.membership(user_id, principal.organization_id)
    user = await services.storage.accounts.user(user_id) if membership is not None else None
    if membership is None or user is None:
        raise NotFoundError(f"member {user_id} not found")
    if Role(membership.role) is Role.OWNER and principal.role is not Role.OWNER:
        raise ForbiddenError("resetting an owner's password needs the owner role")
    link, expires_at = await _reset_link(services, user.id, user.email, principal.subject)
    emailed = await send_link(services.settings, user.email, "Reset your TechScanIQ password",
                              f"An administrator sent you a link to set a new password:\n\n{link}\n")
    return Link(email=user.email, link=link, expires_at=expires_at, emailed=emailed)


@router.post("/password-reset/complete", summary="Set a new password with a reset link (every session ends)")
async def complete_reset(body: ResetCompletion, request: Request,
                         services: ApiServices = Depends(get_services)) -> dict[str, int]:
    await limit_attempts(request, services, "password-reset")
    problem = password_problem(body.password)
    if problem is not None:
        raise FieldError("password", problem)
    reset = await services.storage.one_time_tokens.use(token_hash(body.token), RESET, utcnow())
    user = await services.storage.accounts.user_by_email(reset.email) if reset and reset.email else None
    if user is None:
        raise AuthError("token: not a valid reset link (used, expired or never issued)")
    memberships = await services.storage.accounts.memberships_of(user.id)
    note_organizations(request.scope, [m.organization_id for m in memberships], f"user:{user.email}")
    await services.storage.accounts.set_password(user.id, await hash_password(body.password))
    ended = await services.storage.sessions.delete_of_user(user.id)
    await end_sessions(services, ended, "password reset")
    return {"sessions_ended": len(ended)}


async def _reset_link(services: ApiServices, user_id: str, email: str, created_by: str) -> tuple[str, datetime]:
    token, expires_at = new_token(), utcnow() + timedelta(hours=RESET_HOURS)
    await services.storage.one_time_tokens.add(token_hash(token), RESET, utcnow(), expires_at=expires_at, email=email,
                                             created_by=created_by)
    return f"{public_url(services)}{ACCEPT_PAGE}#reset={token}", expires_at
