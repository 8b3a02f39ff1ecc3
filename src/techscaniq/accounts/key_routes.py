"""/api/v1/api-keys: an organization's API keys, created with a name and a role, shown once, stored as a
hash, revoked at once on every replica (each request with a key reads its row)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from techscaniq.accounts.authentication import API_KEY_PREFIX, api_key_ending
from techscaniq.accounts.models import ApiKey
from techscaniq.accounts.secrets import token_hash
from techscaniq.api.auth import Principal, Role
from techscaniq.api.dependencies import get_principal, get_services
from techscaniq.api.errors import FieldError, NotFoundError
from techscaniq.api.services import ApiServices
from techscaniq.domain.common import utcnow

router = APIRouter(prefix="/api/v1/api-keys", tags=["access"])


class KeyRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="what the key is for (e.g. 'deploy pipeline')")
    role: Role = Field(default=Role.VIEWER, description="what the key may do; at most the creator's own role")


class KeyInfo(BaseModel):
    id: str
    name: str
    role: Role
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedKey(KeyInfo):
    key: str = Field(description="shown only now: only its hash is stored")


@router.get("", summary="The organization's API keys (never the keys themselves)")
async def list_keys(principal: Principal = Depends(get_principal),
                    services: ApiServices = Depends(get_services)) -> list[KeyInfo]:
    return [_info(key) for key in await services.storage.api_keys.find(principal.organization_id)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an API key (the answer is the only time "
             "the key is shown)")
async def create_key(body: KeyRequest, principal: Principal = Depends(get_principal),
                     services: ApiServices = Depends(get_services)) -> CreatedKey:
    if not principal.role.allows(body.role):
        raise FieldError("role", f"a key cannot outrank its creator ({principal.role.value})")
    key_id = secrets.token_hex(8)
    secret = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    key = ApiKey(key_id, principal.organization_id, body.name, body.role.value, principal.subject, utcnow())
    await services.storage.api_keys.add(key, token_hash(secret))
    return CreatedKey(**_info(key).model_dump(), key=secret)


@router.delete("/{key_id}", summary="Revoke an API key (refused at once on every replica; tokens exchanged "
               "for it too)")
async def revoke_key(key_id: str, principal: Principal = Depends(get_principal),
                     services: ApiServices = Depends(get_services)) -> KeyInfo:
    revoked = await services.storage.api_keys.revoke(key_id, principal.organization_id, utcnow())
    if revoked is None:
        raise NotFoundError(f"API key {key_id} not found")
    # Requests with the key read its row; open WebSockets (of the key, or of tokens issued for it) close here
    # now and on other replicas at their next revocation reload, which a day leaves ample time for.
    await services.revocations.revoke(api_key_ending(key_id), principal.organization_id, utcnow() + timedelta(days=1),
                                    "API key revoked")
    return _info(revoked)


def _info(key: ApiKey) -> KeyInfo:
    return KeyInfo(id=key.id, name=key.name, role=Role(key.role), created_by=key.created_by,
                   created_at=key.created_at, last_used_at=key.last_used_at, revoked_at=key.revoked_at)
