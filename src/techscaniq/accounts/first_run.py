"""First run: an install without users prints a one-time setup link; opening it creates the first owner
and organization. The token is in the link's fragment (#token=...), which browsers never send to a server,
so it stays out of access logs; only its sha256 is stored, and it works once."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from techscaniq.accounts.secrets import new_token, token_hash
from techscaniq.domain.common import utcnow

if TYPE_CHECKING:
    from techscaniq.api.services import ApiServices

SETUP = "setup"
SETUP_PAGE = "/static/setup.html"


async def setup_link(services: ApiServices) -> str | None:
    """A new setup link when no user exists yet (each start prints one; any unused one works until the
    first owner is created), else None."""
    storage = services.storage
    if await storage.accounts.count_users():
        return None
    token = new_token()
    await storage.one_time_tokens.add(token_hash(token), SETUP, utcnow())
    return f"{public_url(services)}{SETUP_PAGE}#token={token}"


def public_url(services: ApiServices) -> str:
    if services.settings.public_url:
        return services.settings.public_url.rstrip("/")
    return f"http://localhost:{services.ports.get('api', services.settings.http_port)}"


def organization_id_of(name: str) -> str:
    """A readable id for a new organization: its name, lower-case, with dashes ("Acme Inc." -> acme-inc)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "organization"
