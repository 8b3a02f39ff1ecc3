"""CSP source expressions: whether one source list allows everything another source allows, which is what
combining several enforced policies needs (a load must pass every policy, so the combination keeps a source
only where every other policy allows it too).

The matching follows CSP Level 3's source-expression rules closely enough for grading: schemes (`http:` also
covers `https:`), hosts with a leading `*.` wildcard, ports and paths (a path ending in `/` is a prefix,
any other path exact). Keywords are only allowed by the same keyword (`'self'` also by `*` and the `http:`/
`https:` schemes); a nonce or hash source by `'unsafe-inline'` in a list without nonces or hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NONCE_OR_HASH = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")
_NETWORK_SCHEMES = frozenset({"http:", "https:", "ws:", "wss:"})
_SCHEME_SOURCE = re.compile(r"[a-z][a-z0-9+.-]*:")
_HOST_SOURCE = re.compile(r"(?:(?P<scheme>[a-z][a-z0-9+.-]*):\/\/)?(?P<host>\*|(?:\*\.)?[^/:]+)"
                          r"(?::(?P<port>\d+|\*))?(?P<path>/.*)?")


@dataclass(frozen=True)
class HostSource:
    scheme: str | None  # "https:"; None: the page's scheme
    host: str
    port: str | None
    path: str


def host_source(source: str) -> HostSource | None:
    match = _HOST_SOURCE.fullmatch(source)
    if match is None or source.startswith("'"):
        return None
    scheme = match["scheme"]
    return HostSource(f"{scheme}:" if scheme else None, match["host"], match["port"], match["path"] or "")


def _scheme_covers(allowing: str, scheme: str) -> bool:
    return allowing == scheme or (allowing, scheme) in {("http:", "https:"), ("ws:", "wss:")}


def _host_covers(allowing: str, host: str) -> bool:
    if allowing == "*" or allowing == host:
        return True
    return allowing.startswith("*.") and host.removeprefix("*").endswith(allowing[1:])


def _path_covers(allowing: str, path: str) -> bool:
    if allowing in ("", "/"):
        return True
    return path.startswith(allowing) if allowing.endswith("/") else path == allowing


def _host_source_covers(allowing: HostSource, source: HostSource) -> bool:
    if allowing.scheme is not None and not _scheme_covers(allowing.scheme, source.scheme or "https:"):
        return False
    if allowing.scheme is None and source.scheme not in (None, "http:", "https:"):
        return False
    if allowing.port not in (None, "*") and allowing.port != source.port:
        return False
    if allowing.port is None and source.port is not None:
        return False
    return _host_covers(allowing.host, source.host) and _path_covers(allowing.path, source.path)


def allows(sources: set[str], source: str) -> bool:
    """Everything `source` allows is allowed by the list `sources`."""
    if source in sources or source == "'none'":
        return True
    if source.startswith(NONCE_OR_HASH):
        return "'unsafe-inline'" in sources and not any(item.startswith(NONCE_OR_HASH) for item in sources)
    if source == "'self'":
        return bool(sources & {"*", "http:", "https:"})
    if source.startswith("'"):
        return False
    if _SCHEME_SOURCE.fullmatch(source):
        return any(_scheme_covers(item, source) for item in sources) or (
            "*" in sources and source in _NETWORK_SCHEMES)
    parsed = host_source(source)
    if parsed is None:
        return False
    for item in sources:
        if item == "*" or (_SCHEME_SOURCE.fullmatch(item) and _scheme_covers(item, parsed.scheme or "https:")):
            return True
        allowing = host_source(item)
        if allowing is not None and _host_source_covers(allowing, parsed):
            return True
    return False


# Beyond this many source pairs (hostile policies) only sources both lists name exactly are kept.
_MAX_PAIRS = 50_000


def intersect(first: set[str], second: set[str]) -> set[str]:
    """The sources both lists allow: each list's sources that the other list allows too ('none' if nothing)."""
    if len(first) * len(second) > _MAX_PAIRS:
        kept = first & second
    else:
        kept = {source for source in first if allows(second, source)} | {
            source for source in second if allows(first, source)}
    if len(kept) > 1:
        kept.discard("'none'")
    return kept or {"'none'"}
