"""Who is calling: a JWT signed with JWT_SECRET_KEY (organization claim, role) or an organization's
API key. Every query the API makes is scoped to the caller's organization.

Every JWT carries a unique `jti`, so it can be revoked (api/revocation.py). Tokens issued before
`jti` existed cannot be revoked one by one; they stay valid until they expire.

A JWT exchanged for an API key carries that key's id (`key` claim, a hash prefix, never the key): when
the key leaves API_KEYS its tokens are refused on their next use. Only API keys are exchanged for
tokens (a JWT cannot renew or upgrade itself), so a credential never outlives or outranks its key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import jwt

from techscaniq.domain.common import utcnow
from techscaniq.private_files import generated_key
from techscaniq.settings import Settings

if TYPE_CHECKING:
    from techscaniq.api.revocation import RevocationList
    from techscaniq.api.services import ApiServices

ALGORITHM = "HS256"
# The `key` claim of a token exchanged for a key of the api_keys table (API_KEYS keys have a bare hash prefix).
STORED_KEY_CLAIM_PREFIX = "db:"


class Role(StrEnum):
    """Least to most: viewers read, editors change sites, rules and silences, admins also manage members, API
    keys and the audit log, owners also the organization itself (api/permissions.py says which route needs
    which)."""

    ADMIN = "admin"
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


@dataclass(frozen=True)
class Principal:
    organization_id: str
    role: Role
    subject: str
    token_id: str | None = None  # the JWT's jti (None for API keys and tokens issued before jti)
    token_expires_at: datetime | None = None
    user_id: str | None = None  # a person signed in to the dashboard (a session), or None
    session_id: str | None = None  # the sha256 of the session cookie
    api_key_id: str | None = None  # an API key created in the API (api_keys table), or a token exchanged for one

    @property
    def can_write(self) -> bool:
        return self.role.allows(Role.EDITOR)


class AuthError(Exception):
    """Missing or invalid credentials (HTTP 401)."""


def signing_key(settings: Settings) -> str:
    """JWT_SECRET_KEY, or a random key generated once into the data directory (mode 0600)."""
    if settings.jwt_secret_key is not None:
        return settings.jwt_secret_key.get_secret_value()
    return generated_key(settings.data_dir / "jwt_secret", lambda: secrets.token_hex(32))


def create_token(settings: Settings, organization_id: str, role: Role = Role.ADMIN, subject: str = "user",
                 expires_minutes: int | None = None, key_id: str | None = None) -> str:
    """`key_id`: the API key the token was exchanged for (None: minted by the operator's CLI)."""
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": subject,
        "org": organization_id,
        "role": role.value,
        "iat": now,
        "exp": now + timedelta(minutes=expires_minutes or settings.jwt_expiry_minutes),
        "jti": uuid.uuid4().hex,
    }
    if key_id is not None:
        claims["key"] = key_id
    return jwt.encode(claims, signing_key(settings), algorithm=ALGORITHM)


def token_claims(settings: Settings, token: str, *, verify_exp: bool = True) -> dict[str, Any]:
    """The claims of a JWT signed with our key; raises jwt.PyJWTError when it is not one."""
    claims: dict[str, Any] = jwt.decode(token, signing_key(settings), algorithms=[ALGORITHM],
                                        options={"require": ["exp", "org"], "verify_exp": verify_exp})
    return claims


def principal_from_credentials(settings: Settings, token: str | None,
                               revocations: RevocationList | None = None) -> Principal:
    if not token:
        raise AuthError("missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'")
    api_key_principal = principal_of_api_key(settings, token)
    if api_key_principal is not None:
        return api_key_principal
    try:
        claims = token_claims(settings, token)
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    try:
        role = Role(claims.get("role", Role.VIEWER.value))
    except ValueError:
        raise AuthError(f"invalid token: unknown role {claims.get('role')!r}") from None
    organization = claims["org"]
    if not isinstance(organization, str) or not organization:
        raise AuthError("invalid token: org claim must be a non-empty string")
    jti = claims.get("jti")
    token_id = jti if isinstance(jti, str) and jti else None
    if token_id is not None and revocations is not None and revocations.is_revoked(organization, token_id):
        raise AuthError("token revoked")
    key_id = claims.get("key")
    stored_key = isinstance(key_id, str) and key_id.startswith(STORED_KEY_CLAIM_PREFIX)
    if key_id is not None and not stored_key and key_id not in _key_ids_of(settings, organization):
        raise AuthError("token revoked: the API key it was issued for is no longer configured")
    return Principal(organization, role, str(claims.get("sub", "")), token_id,
                     datetime.fromtimestamp(claims["exp"], UTC),
                     # The caller checks the stored key is still active (accounts/authentication.py).
                     api_key_id=str(key_id)[len(STORED_KEY_CLAIM_PREFIX):] if stored_key else None)


def principal_of_api_key(settings: Settings, key: str) -> Principal | None:
    """The principal of a key configured in API_KEYS (admin of its organization), else None."""
    for organization, expected in _api_keys(settings):
        if hmac.compare_digest(expected.encode(), key.encode()):
            return Principal(organization, Role.ADMIN, f"api-key:{api_key_id(key)}")
    return None


def api_key_id(key: str) -> str:
    """A stable, non-secret name for a key: rate limits, audit fields and its tokens' `key` claim use it."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _api_keys(settings: Settings) -> list[tuple[str, str]]:
    pairs = []
    for pair in (settings.api_keys or "").split(","):
        organization, _, key = pair.strip().partition(":")
        if key:
            pairs.append((organization, key))
    return pairs


def _key_ids_of(settings: Settings, organization_id: str) -> set[str]:
    return {api_key_id(key) for organization, key in _api_keys(settings) if organization == organization_id}


async def organization_from_token(services: ApiServices, token: str | None) -> str | None:
    """The organization of any credential (JWT, API_KEYS key, stored API key), or None."""
    from techscaniq.accounts.authentication import credential_of_token

    credential = await credential_of_token(services, token)
    return None if credential is None else credential.organization_id
