"""Who is calling, from any of the credentials the API accepts:

- `Authorization: Bearer <JWT>` (the CLI's `techscaniq token`, or POST /api/v1/auth/token),
- `X-API-Key` / Bearer with a key from API_KEYS (bootstrap for automation) or one created in the API
  (`tsk_<id>_<secret>`, checked against the database on every request, so a revocation holds on every
  replica at once),
- the dashboard's session cookie (HttpOnly); a write with it must echo the session's CSRF token in
  X-CSRF-Token, which a page of another site cannot read."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from techscaniq.accounts.models import ApiKey, Membership, Session
from techscaniq.accounts.secrets import token_hash
from techscaniq.api.auth import AuthError, Principal, Role, principal_from_credentials
from techscaniq.api.errors import ForbiddenError
from techscaniq.domain.common import utcnow
from techscaniq.realtime.hub import Credential

if TYPE_CHECKING:
    from techscaniq.api.services import ApiServices

SESSION_COOKIE = "techscaniq_session"
CSRF_HEADER = "x-csrf-token"
API_KEY_PREFIX = "tsk_"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Last-used times and session activity are written at most this often: not one write per request.
TOUCH_EVERY = timedelta(minutes=1)


def credentials_of(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return token or connection.headers.get("x-api-key")


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


async def principal_of_request(services: ApiServices, request: HTTPConnection, method: str) -> Principal:
    credential = credentials_of(request)
    if credential:
        return await principal_of_credential(services, credential)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal, session = await principal_of_session(services, cookie)
        if method in UNSAFE_METHODS and not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(),
                                                                session.csrf_token.encode()):
            raise ForbiddenError("X-CSRF-Token: a change made with the session cookie must send the session's "
                                 "csrf_token (GET /api/v1/session) in this header")
        return principal
    raise AuthError("missing credentials: sign in, or send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'")


async def principal_of_credential(services: ApiServices, credential: str) -> Principal:
    if credential.startswith(API_KEY_PREFIX):
        return await _principal_of_stored_key(services, credential)
    principal = principal_from_credentials(services.settings, credential, services.revocations)
    if principal.api_key_id is not None and await services.storage.api_keys.active(principal.api_key_id) is None:
        raise AuthError("token revoked: the API key it was issued for was revoked")
    return principal


async def _principal_of_stored_key(services: ApiServices, key: str) -> Principal:
    key_id = key[len(API_KEY_PREFIX):].partition("_")[0]
    found = await services.storage.api_keys.active(key_id) if key_id else None
    if found is None or not hmac.compare_digest(found[1], token_hash(key)):
        raise AuthError("invalid API key (unknown or revoked)")
    stored: ApiKey = found[0]
    now = utcnow()
    if stored.last_used_at is None or now - stored.last_used_at >= TOUCH_EVERY:
        await services.storage.api_keys.touch(stored.id, now)
    return Principal(stored.organization_id, Role(stored.role), f"api-key:{stored.id}", api_key_id=stored.id)


async def principal_of_session(services: ApiServices, cookie: str) -> tuple[Principal, Session]:
    session, membership = await live_session(services, cookie)
    user = await services.storage.accounts.user(session.user_id)
    email = user.email if user is not None else session.user_id
    return Principal(session.organization_id, Role(membership.role), f"user:{email}", user_id=session.user_id,
                     session_id=session.id_hash, token_expires_at=session.expires_at), session


async def live_session(services: ApiServices, cookie: str) -> tuple[Session, Membership]:
    """The session of the cookie and the person's membership in its organization; AuthError when it has
    ended (signed out, idle too long, past its absolute expiry) or the person left the organization."""
    storage = services.storage
    session = await storage.sessions.get(token_hash(cookie))
    if session is None:
        raise AuthError("session ended: sign in again")
    now = utcnow()
    idle = timedelta(minutes=services.settings.session_idle_minutes)
    if now >= session.expires_at or now - session.last_seen_at >= idle:
        await storage.sessions.delete(session.id_hash)
        raise AuthError("session expired: sign in again")
    membership = await storage.accounts.membership(session.user_id, session.organization_id)
    if membership is None:
        raise AuthError("session ended: you are no longer a member of this organization")
    if now - session.last_seen_at >= TOUCH_EVERY:
        await storage.sessions.touch(session.id_hash, now)
    return session, membership


async def credential_of_token(services: ApiServices, token: str | None) -> Credential | None:
    """Who a token (JWT, API_KEYS key, stored API key) is for and what ends it (a WebSocket of it), or None."""
    if not token:
        return None
    try:
        principal = await principal_of_credential(services, token)
    except AuthError:
        return None
    ends_with = {principal.token_id} if principal.token_id else set()
    if principal.api_key_id is not None:
        ends_with.add(api_key_ending(principal.api_key_id))
    expires = principal.token_expires_at
    return Credential(principal.organization_id, frozenset(ends_with),
                      None if expires is None else max(0.0, (expires - utcnow()).total_seconds()))


async def websocket_session(services: ApiServices, cookie: str) -> Credential | None:
    """What a WebSocket opened with the session cookie is for; signing out (on any replica) ends it."""
    try:
        session, _ = await live_session(services, cookie)
    except AuthError:
        return None
    in_organization = session_in(session.id_hash, session.organization_id)
    if services.revocations.is_revoked(session.organization_id, in_organization):
        return None  # removed from the organization since (and invited back): sign in again to follow it live
    return Credential(session.organization_id, frozenset({session.id_hash, in_organization}),
                      (session.expires_at - utcnow()).total_seconds())


def session_in(session_id_hash: str, organization_id: str) -> str:
    """The revocation id of a session's WebSockets in one organization: a session that switched to another
    organization keeps the connections it opened before, and they must end if the person leaves that one."""
    return f"{session_id_hash}@{organization_id}"


def api_key_ending(key_id: str) -> str:
    """The revocation id of a stored API key: connections opened with it, or with a token issued for it."""
    return f"key:{key_id}"


async def end_sessions(services: ApiServices, ended: list[Session], reason: str) -> None:
    """Sessions just deleted: their WebSocket connections close here at once and on the other replicas at
    their next revocation reload (the session id is stored as a revocation until the session would expire)."""
    for session in ended:
        await services.revocations.revoke(session.id_hash, session.organization_id, session.expires_at, reason)
