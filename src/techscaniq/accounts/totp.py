"""The optional second factor: TOTP (RFC 6238, through pyotp) with ten single-use recovery codes. The secret
is stored encrypted with the secret box; recovery codes only as their sha256."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import pyotp

from techscaniq.accounts.models import User
from techscaniq.accounts.secrets import token_hash

if TYPE_CHECKING:
    from techscaniq.api.services import ApiServices

ISSUER = "TechScanIQ"
RECOVERY_CODES = 10


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


def code_matches(secret: str, code: str) -> bool:
    # One step either way: a phone's clock a little off still signs in.
    return pyotp.TOTP(secret).verify(code.strip().replace(" ", ""), valid_window=1)


async def second_factor_ok(services: ApiServices, user: User, code: str) -> bool:
    """The current TOTP code, or an unused recovery code (struck off as it is used)."""
    if user.totp_secret is None:
        return False
    secret = services.storage.secrets.decrypt(user.totp_secret)
    if code_matches(secret, code):
        return True
    return await services.storage.accounts.use_recovery_code(user.id, token_hash(code.strip().lower()))
