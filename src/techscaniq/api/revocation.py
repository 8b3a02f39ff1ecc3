"""Revoked JWTs, checked on every request without a database query.

Each replica keeps the (organization, jti) pairs of revoked, not yet expired tokens in memory. A
revocation made here is in the set at once; revocations made by other replicas (or the CLI) arrive
when the set is reloaded from the database, every `refresh_seconds` (30 s, the same bound as custom
fingerprints). The whole set is reloaded, not only what changed: replicas' clocks may disagree, and
the set stays small because rows are pruned once their token would have expired."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt

from techscaniq.api.auth import token_claims
from techscaniq.domain.common import utcnow
from techscaniq.observability.outage import Outage, periodically
from techscaniq.settings import Settings
from techscaniq.storage.protocols import RevokedTokenRepository

log = logging.getLogger("techscaniq.api.revocation")

# A bare jti does not say when its token expires: the revocation is kept this long (past any sane token life).
JTI_ONLY_RETENTION = timedelta(days=366)

# Told the (organization, jti) pairs revoked so far, so open WebSocket sessions can be closed.
RevokedListener = Callable[[frozenset[tuple[str, str]]], object]


class RevocationList:
    def __init__(self, repository: RevokedTokenRepository, refresh_seconds: float = 30.0,
                 on_revoked: RevokedListener | None = None) -> None:
        self._repository = repository
        self.refresh_seconds = refresh_seconds
        self.on_revoked = on_revoked
        self._revoked: frozenset[tuple[str, str]] = frozenset()
        self.outage = Outage("revocations", "revocations")

    def is_revoked(self, organization_id: str, jti: str) -> bool:
        return (organization_id, jti) in self._revoked

    async def revoke(self, jti: str, organization_id: str, expires_at: datetime, reason: str = "") -> None:
        """Store the revocation (idempotent) and enforce it on this replica at once."""
        now = utcnow()
        await self._repository.add(jti, organization_id, now, expires_at, reason)
        # Opportunistic cleanup: revocations are rare, so this runs rarely, and keeps the table small.
        pruned = await self._repository.prune(now)
        if pruned:
            log.info("pruned %s revocations of expired tokens", pruned)
        self._set(self._revoked | {(organization_id, jti)})

    async def refresh(self) -> int:
        """Reload every active revocation from the database; returns how many there are."""
        self._set(frozenset(await self._repository.active(utcnow())))
        return len(self._revoked)

    async def run(self) -> None:
        """Reload periodically until cancelled (the database being away only delays it)."""
        # A failed reload is retried with backoff; the last known set stays enforced meanwhile.
        await periodically(self.outage, self.refresh_seconds, self.refresh)

    def _set(self, revoked: frozenset[tuple[str, str]]) -> None:
        self._revoked = revoked
        if self.on_revoked is not None and revoked:
            self.on_revoked(revoked)


def revocation_target(settings: Settings, token: str) -> tuple[str, str, datetime]:
    """(jti, organization, expiry) of a JWT signed with our key, expired or not; ValueError says why not."""
    try:
        claims = token_claims(settings, token.strip(), verify_exp=False)
    except jwt.PyJWTError as exc:
        raise ValueError(f"not a token issued by this server: {exc}") from None
    jti, organization_id, exp = claims.get("jti"), claims.get("org"), claims.get("exp")
    if not isinstance(jti, str) or not jti:
        raise ValueError("the token has no jti (issued before revocation existed): it stays valid until it "
                         "expires; rotate JWT_SECRET_KEY to end every token sooner")
    if not isinstance(organization_id, str) or not organization_id or not isinstance(exp, int | float):
        raise ValueError("the token has no valid org or exp claim")
    return jti, organization_id, datetime.fromtimestamp(exp, UTC)
