"""What the accounts store holds, as plain records (the API shapes its own answers from them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    password_hash: str | None
    created_at: datetime
    failed_sign_ins: int = 0
    locked_until: datetime | None = None
    totp_secret: str | None = None  # encrypted
    # sha256 of the unused recovery codes; None while TOTP is not confirmed (or not set up at all)
    recovery_codes: list[str] | None = None

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None and self.recovery_codes is not None


@dataclass(frozen=True)
class Membership:
    user_id: str
    organization_id: str
    organization_name: str
    role: str


@dataclass(frozen=True)
class OneTimeToken:
    purpose: str  # setup | invite | reset
    organization_id: str | None
    email: str | None
    role: str | None
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Session:
    id_hash: str
    user_id: str
    organization_id: str
    csrf_token: str
    address: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class ApiKey:
    id: str
    organization_id: str
    name: str
    role: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: str
    organization_id: str
    at: datetime
    actor: str
    address: str
    action: str
    target: str
    outcome: int
    details: dict[str, Any]


@dataclass(frozen=True)
class SsoConfig:
    organization_id: str
    issuer: str
    client_id: str
    client_secret: str
    role_claim: str  # e.g. "groups": a string or a list of strings in the id_token
    role_map: dict[str, str]  # claim value -> role; the highest matching role wins
    default_role: str | None  # for a person none of whose values is mapped; None refuses them
