"""Whether browsers treat a host as HTTPS-only before ever visiting it: the HSTS preload list Chromium
maintains (Firefox, Safari and Edge ship it too), as packaged by `hstspreload`, whose releases follow the
list. The Observatory gives preloaded sites `hsts-preloaded` and skips the HTTP redirection check for them."""

from __future__ import annotations

import hstspreload


def is_preloaded(host: str | None) -> bool:
    """True for a preloaded host, or a subdomain of a domain preloaded with includeSubDomains."""
    if not host:
        return False
    try:
        return bool(hstspreload.in_hsts_preload(host.rstrip(".").lower()))
    except (ValueError, UnicodeError):  # not a host name the list could hold
        return False
