"""/api/v1/members: who belongs to the organization with which role. Admins manage editors and viewers;
only an owner makes or unmakes an owner, and the last owner stays."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from techscaniq.accounts.authentication import end_sessions, session_in
from techscaniq.api.auth import Principal, Role
from techscaniq.api.dependencies import get_principal, get_system
from techscaniq.api.errors import ConflictError, ForbiddenError, NotFoundError
from techscaniq.domain.common import utcnow
from techscaniq.system import MonitoringSystem

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
                       system: MonitoringSystem = Depends(get_system)) -> list[Member]:
    return [Member(user_id=user.id, email=user.email, name=user.name, role=Role(role))
            for user, role in await system.storage.accounts.members(principal.organization_id)]


@router.put("/{user_id}", summary="Change a member's role")
async def change_role(user_id: str, body: RoleChange, principal: Principal = Depends(get_principal),
                      system: MonitoringSystem = Depends(get_system)) -> Member:
    current = await _member_role(system, principal, user_id)
    if Role.OWNER in (current, body.role) and principal.role is not Role.OWNER:
        raise ForbiddenError("making or unmaking an owner needs the owner role")
    if current is Role.OWNER and body.role is not Role.OWNER:
        await _keep_an_owner(system, principal.organization_id)
    await system.storage.accounts.set_membership(user_id, principal.organization_id, body.role.value, utcnow())
    user = await system.storage.accounts.user(user_id)
    assert user is not None
    return Member(user_id=user.id, email=user.email, name=user.name, role=body.role)


@router.delete("/{user_id}", summary="Remove a member from the organization (their sessions here end)")
async def remove_member(user_id: str, principal: Principal = Depends(get_principal),
                        system: MonitoringSystem = Depends(get_system)) -> dict[str, str]:
    current = await _member_role(system, principal, user_id)
    if current is Role.OWNER:
        if principal.role is not Role.OWNER:
            raise ForbiddenError("removing an owner needs the owner role")
        await _keep_an_owner(system, principal.organization_id)
    await system.storage.accounts.remove_membership(user_id, principal.organization_id)
    ended = await system.storage.sessions.delete_of_user(user_id, principal.organization_id)
    await end_sessions(system, ended, "removed from the organization")
    for switched in await system.storage.sessions.of_user(user_id):  # working elsewhere now, maybe still live here
        await system.revocations.revoke(session_in(switched.id_hash, principal.organization_id),
                                        principal.organization_id, switched.expires_at, "removed from the organization")
    return {"removed": user_id}


async def _member_role(system: MonitoringSystem, principal: Principal, user_id: str) -> Role:
    membership = await system.storage.accounts.membership(user_id, principal.organization_id)
    if membership is None:
        raise NotFoundError(f"member {user_id} not found")
    return Role(membership.role)


async def _keep_an_owner(system: MonitoringSystem, organization_id: str) -> None:
    if await system.storage.accounts.count_role(organization_id, Role.OWNER.value) <= 1:
        raise ConflictError("the organization's last owner stays an owner (make another member owner first)")
