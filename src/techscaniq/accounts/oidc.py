"""OpenID Connect sign-in (authorization code flow with PKCE): discovery, the authorization URL, the code
exchange, and the id_token's validation (signature against the provider's JWKS, issuer, audience, expiry,
nonce) with Authlib's PKCE helper and joserfc (Authlib's JOSE library).

The issuer is an organization's setting, so every request to the provider goes through the address guard
(NOTIFICATION_ALLOWED_NETWORKS lists an internal provider). The flow's state, nonce and PKCE verifier
travel in a short-lived cookie signed with the JWT key, so any replica can finish a sign-in another began."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from techscaniq.accounts.models import SsoConfig
from techscaniq.alerts.channels.registry import tls_context
from techscaniq.api.auth import Role
from techscaniq.egress.address_guard import BlockedAddressError
from techscaniq.egress.http_client import guarded_client
from techscaniq.settings import Settings

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
TIMEOUT_SECONDS = 10.0
MAX_DOCUMENT_BYTES = 256 * 1024


class SsoError(Exception):
    """The provider could not be reached, or answered something we cannot accept (the message says which)."""


@dataclass(frozen=True)
class Flow:
    """What the callback needs to finish the sign-in the login redirect began."""

    organization_id: str
    state: str
    nonce: str
    verifier: str


def new_flow(organization_id: str) -> Flow:
    return Flow(organization_id, secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))


async def provider_metadata(settings: Settings, issuer: str) -> dict[str, Any]:
    document = await _get_json(settings, f"{issuer.rstrip('/')}/.well-known/openid-configuration")
    if document.get("issuer") != issuer.rstrip("/") and document.get("issuer") != issuer:
        raise SsoError(f"issuer: the provider calls itself {document.get('issuer')!r}, not {issuer!r}")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(field), str):
            raise SsoError(f"issuer: the provider's discovery document has no {field}")
    return document


def authorization_url(metadata: dict[str, Any], config: SsoConfig, flow: Flow, redirect_uri: str) -> str:
    params = {"response_type": "code", "client_id": config.client_id, "redirect_uri": redirect_uri,
              "scope": f"openid email {config.role_claim}".strip(), "state": flow.state, "nonce": flow.nonce,
              "code_challenge": create_s256_code_challenge(flow.verifier), "code_challenge_method": "S256"}
    return str(httpx.URL(metadata["authorization_endpoint"], params=params))


async def signed_in_claims(settings: Settings, metadata: dict[str, Any], config: SsoConfig, flow: Flow, code: str,
                           redirect_uri: str) -> dict[str, Any]:
    """Exchange the code and return the validated id_token's claims."""
    async with _client(settings) as client:
        try:
            answer = await client.post(metadata["token_endpoint"], timeout=TIMEOUT_SECONDS,
                                       auth=(config.client_id, config.client_secret),
                                       data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": redirect_uri, "code_verifier": flow.verifier})
        except (httpx.HTTPError, BlockedAddressError) as exc:
            raise SsoError(f"token endpoint: {exc}") from None
    if answer.status_code != 200:
        raise SsoError(f"token endpoint answered {answer.status_code}: {answer.text[:200]}")
    id_token = answer.json().get("id_token")
    if not isinstance(id_token, str):
        raise SsoError("token endpoint: no id_token in the answer")
    keys = KeySet.import_key_set(await _get_json(settings, metadata["jwks_uri"]))  # type: ignore[arg-type]
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": metadata["issuer"]},
                              aud={"essential": True, "value": config.client_id},
                              nonce={"essential": True, "value": flow.nonce},
                              exp={"essential": True}, sub={"essential": True}).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise SsoError(f"id_token refused: {exc}") from None
    return dict(token.claims)


def role_of(config: SsoConfig, claims: dict[str, Any]) -> Role | None:
    """The highest role the claim's values map to, else the default role (None: refused)."""
    value = claims.get(config.role_claim)
    values = [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] if isinstance(
        value, list) else []
    roles = [Role(config.role_map[v]) for v in values if v in config.role_map]
    if roles:
        return max(roles, key=lambda role: role.rank)
    return Role(config.default_role) if config.default_role else None


def _client(settings: Settings) -> httpx.AsyncClient:
    return guarded_client(settings.notification_address_policy, tls_context(settings), settings.user_agent)


async def _get_json(settings: Settings, url: str) -> dict[str, Any]:
    async with _client(settings) as client:
        try:
            answer = await client.get(url, timeout=TIMEOUT_SECONDS)
        except (httpx.HTTPError, BlockedAddressError) as exc:
            raise SsoError(f"issuer: cannot fetch {url}: {exc}") from None
    if answer.status_code != 200 or len(answer.content) > MAX_DOCUMENT_BYTES:
        raise SsoError(f"issuer: {url} answered {answer.status_code}")
    try:
        document = answer.json()
    except ValueError:
        raise SsoError(f"issuer: {url} is not JSON") from None
    if not isinstance(document, dict):
        raise SsoError(f"issuer: {url} is not a JSON object")
    return document
