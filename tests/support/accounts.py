"""People for tests: a member of an organization with a role, and a live dashboard session of theirs, written
straight to storage (signing in through the API costs an argon2 hash, which the sign-in tests pay)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from techscaniq.accounts.authentication import CSRF_HEADER, SESSION_COOKIE
from techscaniq.accounts.models import Session
from techscaniq.accounts.secrets import new_token, token_hash
from techscaniq.domain.common import utcnow
from techscaniq.storage.sql import SqlStorage


@dataclass(frozen=True)
class SignedIn:
    user_id: str
    cookie: str
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        """What the dashboard sends: the cookie, and the CSRF token (needed for writes)."""
        return {"Cookie": f"{SESSION_COOKIE}={self.cookie}", CSRF_HEADER: self.csrf_token}


async def member(storage: SqlStorage, email: str, organization_id: str, role: str,
                 password_hash: str | None = None) -> str:
    """The id of a user (created if new) with `role` in the organization."""
    user = await storage.accounts.user_by_email(email) or await storage.accounts.add_user(email, password_hash,
                                                                                           utcnow())
    await storage.accounts.set_membership(user.id, organization_id, role, utcnow())
    return user.id


async def session_of(storage: SqlStorage, user_id: str, organization_id: str) -> SignedIn:
    cookie, csrf, now = new_token(), new_token(), utcnow()
    await storage.sessions.add(Session(token_hash(cookie), user_id, organization_id, csrf, "127.0.0.1", now, now,
                                       now + timedelta(hours=1)))
    return SignedIn(user_id, cookie, csrf)
