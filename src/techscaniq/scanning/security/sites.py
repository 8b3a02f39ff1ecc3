"""Sites and registrable domains by the Public Suffix List, the way browsers draw the line between sites.

The list is the snapshot the `publicsuffixlist` package ships (updated by a package upgrade); nothing is
fetched at run time. Private suffixes (github.io, blogspot.com...) count, as they do for browsers' cookies
and same-site checks: two github.io pages are two sites.
"""

from __future__ import annotations

import ipaddress

from publicsuffixlist import PublicSuffixList

# The bundled snapshot, no download; built at import (~0.2 s) so no scan pays for it on the event loop.
_SUFFIX_LIST = PublicSuffixList()


def _normalised(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_public_suffix(host: str) -> bool:
    """`co.uk`, `nhs.uk`, `github.io`: a name under which others register (a cookie may not name it)."""
    host = _normalised(host)
    return bool(host) and not is_ip_literal(host) and _SUFFIX_LIST.is_public(host)


def registrable_domain(host: str) -> str:
    """The site of a host: `example.co.uk` for a.example.co.uk, `trust.nhs.uk` for www.trust.nhs.uk. An IP
    address, a public suffix itself or a single label (localhost) is its own site."""
    host = _normalised(host)
    if not host or is_ip_literal(host):
        return host
    return _SUFFIX_LIST.privatesuffix(host) or host


def same_site(a: str, b: str) -> bool:
    return registrable_domain(a) == registrable_domain(b)
