"""Signing a person in: brute-force limits (per client address and per account, with a lockout that
says when to try again), the session and its cookie."""

from __future__ import annotations

import math
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import Request, Response

from techscaniq.accounts.authentication import SESSION_COOKIE, client_address
from techscaniq.accounts.models import Session, User
from techscaniq.accounts.secrets import new_token, password_matches, token_hash
from techscaniq.api.auth import AuthError
from techscaniq.api.errors import RateLimitedError
from techscaniq.api.ratelimit import RateLimiter
from techscaniq.domain.common import utcnow

if TYPE_CHECKING:
    from techscaniq.api.services import ApiServices

WRONG_CREDENTIALS = "wrong email or password"


class LockedOutError(RateLimitedError):
    """429 whose message says why and when to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        Exception.__init__(self, message)
        self.retry_after = retry_after


async def limit_attempts(request: Request, services: ApiServices, what: str) -> None:
    """Sign-in and setup attempts per client address (the shared limiter: Redis in scale-out)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    allowed, retry_after = await limiter.hit(f"{what}:{client_address(request)}",
                                             services.settings.sign_in_attempts_per_address_per_minute, 60.0)
    if not allowed:
        seconds = max(1, math.ceil(retry_after))
        raise LockedOutError(f"too many {what} attempts from your address; try again in {seconds} s", seconds)


async def check_password(services: ApiServices, email: str, password: str) -> User:
    """The user whose password this is; AuthError (wrong) or LockedOutError (locked: when to retry)."""
    accounts = services.storage.accounts
    user = await accounts.user_by_email(email)
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        seconds = max(1, math.ceil((user.locked_until - now).total_seconds()))
        raise LockedOutError(f"this account is locked after {services.settings.sign_in_max_failures} wrong "
                             f"passwords; try again at {user.locked_until.isoformat()} (in {seconds} s)", seconds)
    if not await password_matches(user.password_hash if user else None, password) or user is None:
        if user is not None:
            settings = services.settings
            await accounts.record_failed_sign_in(user.id, settings.sign_in_max_failures,
                                                 now + timedelta(minutes=settings.sign_in_lockout_minutes))
        raise AuthError(WRONG_CREDENTIALS)
    if user.failed_sign_ins or user.locked_until is not None:
        await accounts.clear_failed_sign_ins(user.id)
    return user


async def start_session(services: ApiServices, request: Request, response: Response, user_id: str,
                        organization_id: str) -> Session:
    """Store a new session and set its cookie on `response`."""
    cookie = new_token()
    now = utcnow()
    settings = services.settings
    session = Session(token_hash(cookie), user_id, organization_id, secrets.token_urlsafe(24), client_address(request),
                      now, now, now + timedelta(hours=settings.session_max_hours))
    await services.storage.sessions.add(session)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=settings.session_max_hours * 3600, path="/", httponly=True,
                        samesite="strict", secure=is_https(request))
    return session


def end_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(request))


def is_https(request: Request) -> bool:
    """TLS here, or at the proxy in front (X-Forwarded-Proto): then the cookie is sent over TLS only."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"
