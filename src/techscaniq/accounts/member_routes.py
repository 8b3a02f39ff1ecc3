"""/api/v1/members: who belongs to the organization with which role. Admins manage editors and viewers;
only an owner makes or unmakes an owner, and the last owner stays."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from techscaniq.accounts.authentication import end_sessions, session_in
from techscaniq.api.auth import Principal, Role
from techscaniq.api.dependencies import get_principal, get_services
from techscaniq.api.errors import ConflictError, ForbiddenError, NotFoundError
from techscaniq.api.services import ApiServices
from techscaniq.domain.common import utcnow

router = APIRouter(prefix="/api/v1/members", tags=["access"])


class Member(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role


class RoleChange(BaseModel):
    role: Role = Field(description="owner, admin, editor or viewer")


@router.get("", summary="The organization's members and their roles")
async def list_members(principal: Principal = Depends(get_principal),
                       services: ApiServices = Depends(get_services)) -> list[Member]:
    return [Member(user_id=user.id, email=user.email, name=user.name, role=Role(role))
            for user, role in await services.storage.accounts.members(principal.organization_id)]


@router.put("/{user_id}", summary="Change a member's role")
async def change_role(user_id: str, body: RoleChange, principal: Principal = Depends(get_principal),
                      services: ApiServices = Depends(get_services)) -> Member:
    current = await _member_role(services, principal, user_id)
    if Role.OWNER in (current, body.role) and principal.role is not Role.OWNER:
        raise ForbiddenError("making or unmaking an owner needs the owner role")
    if current is Role.OWNER and body.role is not Role.OWNER:
        await _keep_an_owner(services, principal.organization_id)
    await services.storage.accounts.set_membership(user_id, principal.organization_id, body.role.value, utcnow())
    user = await services.storage.accounts.user(user_id)
    assert user is not None
    return Member(user_id=user.id, email=user.email, name=user.name, role=body.role)


@router.delete("/{user_id}", summary="Remove a member from the organization (their sessions here end)")
async def remove_member(user_id: str, principal: Principal = Depends(get_principal),
                        services: ApiServices = Depends(get_services)) -> dict[str, str]:
    current = await _member_role(services, principal, user_id)
    if current is Role.OWNER:
        if principal.role is not Role.OWNER:
            raise ForbiddenError("removing an owner needs the owner role")
        await _keep_an_owner(services, principal.organization_id)
    await services.storage.accounts.remove_membership(user_id, principal.organization_id)
    ended = await services.storage.sessions.delete_of_user(user_id, principal.organization_id)
    await end_sessions(services, ended, "removed from the organization")
    for switched in await services.storage.sessions.of_user(user_id):  # working elsewhere now, maybe still live here
        await services.revocations.revoke(session_in(switched.id_hash, principal.organization_id),
                                        principal.organization_id, switched.expires_at, "removed from the organization")
    return {"removed": user_id}


async def _member_role(services: ApiServices, principal: Principal, user_id: str) -> Role:
    membership = await services.storage.accounts.membership(user_id, principal.organization_id)
    if membership is None:
        raise NotFoundError(f"member {user_id} not found")
    return Role(membership.role)


async def _keep_an_owner(services: ApiServices, organization_id: str) -> None:
    if await services.storage.accounts.count_role(organization_id, Role.OWNER.value) <= 1:
        raise ConflictError("the organization's last owner stays an owner (make another member owner first)")
