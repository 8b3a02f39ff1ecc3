"""The text encoding of a response: the Content-Type charset, else an HTML <meta> charset."""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_META_SCAN_BYTES = 4096  # browsers look for the <meta> charset in the first 1024 bytes; be a little lenient


def detect_charset(content_type: str | None, body: bytes) -> str | None:
    """A Python codec name, or None when neither the header nor the page names a known one."""
    if content_type and (match := _HEADER_CHARSET.search(content_type)) and (known := _known(match.group(1))):
        return known
    if meta := _META_CHARSET.search(body[:_META_SCAN_BYTES]):
        return _known(meta.group(1).decode("ascii", "replace"))
    return None


def _known(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
