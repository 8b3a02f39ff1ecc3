"""Whether a body labelled as a page is text at all.

A server may send an image, an archive or bytes in no encoding as text/html. Parsed as HTML such a body gives
garbage (replacement characters read as markup, "technologies" matched in noise); analysed without a word it
looks like a page. The binary test is the WHATWG MIME sniffing one (a binary data byte in the resource header);
a page that only fails to decode as UTF-8 is analysed as browsers show it (with replacement characters), and
the scan says so.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

SNIFFED_BYTES = 1445  # the resource header the WHATWG sniffing algorithm reads
# WHATWG "binary data bytes": controls that never occur in text (tab, newlines, form feed and escape do).
_BINARY = frozenset([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])
_WIDE_BOMS = (codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)  # UTF-16 text is full of NUL bytes


@dataclass(frozen=True)
class PageBytesProblem:
    reason: str
    binary: bool  # True: not analysed as a page at all


def page_bytes_problem(body: bytes, encoding: str | None, content_type: str | None) -> PageBytesProblem | None:
    """What is wrong with the bytes of a page labelled `content_type` in `encoding` (None: UTF-8), if anything."""
    label = content_type or "no Content-Type"
    wide = (encoding or "").lower().replace("_", "-").startswith(("utf-16", "utf-32")) or body.startswith(_WIDE_BOMS)
    if not wide:
        offset = next((index for index, byte in enumerate(body[:SNIFFED_BYTES]) if byte in _BINARY), None)
        if offset is not None:
            return PageBytesProblem(f"the body is binary, not a page (byte 0x{body[offset]:02x} at offset {offset}, "
                                    f"sent as {label}): not analysed as HTML", binary=True)
    if (encoding or "utf-8").lower().replace("_", "-") in ("utf-8", "utf8"):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            return PageBytesProblem(f"the body is not valid UTF-8 (byte 0x{body[error.start]:02x} at offset "
                                    f"{error.start}): analysed with replacement characters", binary=False)
    return None
