"""Evidence inside another host's URL says something about that host, not about the site.

A page that links `https://www.facebook.com/sharer.php?u=...` runs no PHP; a JSON blob quoting
`https:\\/\\/other.example\\/wp-content\\/...` does not make the site WordPress. An `html`, `scripts` or `text`
match that sits inside an absolute URL whose host is not the page's (nor a subdomain of it, nor its parent)
is dropped. Script URLs (`scriptSrc`) are not judged: loading a library from a CDN is using it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

JUDGED_SOURCES = frozenset({"html", "scripts", "text"})
_LOOKBACK = 300
# What ends a URL when reading backwards from a match: whitespace, quotes, brackets, tags.
_URL_BOUNDARY = re.compile(r"[\s\"'<>()\[\]{},]")


def page_host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname
    return host.removeprefix("www.") if host else None


def in_foreign_url(text: str, start: int, host: str | None) -> bool:
    """Whether position `start` of `text` lies inside an absolute URL of a host other than `host`."""
    if host is None:
        return False  # the page's own host is unknown: nothing to compare with
    window = text[max(0, start - _LOOKBACK):start]
    boundaries = [found.end() for found in _URL_BOUNDARY.finditer(window)]
    token = window[boundaries[-1]:] if boundaries else window
    token = token.replace("\\/", "/")
    at = token.find("//")
    if at < 0 or not (at == 0 or token[:at].endswith(":")):
        return False  # a relative URL, or not a URL: the site's own
    other = token[at + 2:].split("/", 1)
    if len(other) < 2 and text[start:start + 1] not in ("/", "?", "#", "\\"):
        return False  # the match starts inside the host name itself
    name = other[0].split(":", 1)[0].lower().removeprefix("www.")
    if "." not in name:
        return False
    return _site(name) != _site(host)


def _site(host: str) -> str:
    """The registrable part of a host, roughly: the last two labels, three under a short second-level
    label of a country (`example.co.uk`). Sibling hosts of one site (blog., cdn.) are the site."""
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3 else 2
    return ".".join(labels[-keep:])
