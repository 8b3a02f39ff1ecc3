"""Content-Encoding decoding that never produces more than a set number of bytes.

A gzip body inflates about 1000:1, so a 64 KiB chunk from a hostile server can become 64 MiB in one
call of an ordinary decoder. Here each call to zlib is told how much output is still allowed, so
decoding stops as soon as the limit is passed, whatever the compression ratio. Brotli (a few hundred
bytes can expand to hundreds of MB) gets the same treatment through brotli's output_buffer_limit.
"""

from __future__ import annotations

import zlib
from typing import Any

try:
    import brotli

    # Only a brotli that can bound its output (1.2+) may decode untrusted bodies.
    _BROTLI: Any = brotli if hasattr(brotli.Decompressor, "can_accept_more_data") else None
except ImportError:  # pragma: no cover - brotli is a dependency; kept optional so a missing wheel only drops br
    _BROTLI = None

BROTLI_AVAILABLE = _BROTLI is not None
# What we ask servers for; anything else a server sends anyway is kept as it came.
ACCEPT_ENCODING = "gzip, deflate, br" if BROTLI_AVAILABLE else "gzip, deflate"
_DECODABLE = frozenset({"gzip", "x-gzip", "deflate", "identity", *(["br"] if BROTLI_AVAILABLE else [])})


class DecodedTooLargeError(Exception):
    """The decoded body passed its limit."""


class BodyDecodeError(Exception):
    """The body is not valid for its declared Content-Encoding."""


class _Inflater:
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_deflate_fallback = encoding == "deflate"  # many servers send raw deflate without a header
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)

    def inflate(self, data: bytes, max_length: int) -> bytes:
        try:
            output = self._zlib.decompress(data, max_length)
        except zlib.error as exc:
            if self._raw_deflate_fallback:
                self._raw_deflate_fallback = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.inflate(data, max_length)
            raise BodyDecodeError(f"the {self.encoding} body is corrupt: {exc}") from None
        finally:
            self._raw_deflate_fallback = False
        if self._zlib.unconsumed_tail:  # output stopped at max_length: the limit is passed
            raise DecodedTooLargeError(f"decoded body passed its limit while undoing {self.encoding}")
        return output

    def flush(self) -> bytes:
        return self._zlib.flush()


class _Unbrotli:
    encoding = "br"

    def __init__(self) -> None:
        self._brotli = _BROTLI.Decompressor()

    def inflate(self, data: bytes, max_length: int) -> bytes:
        try:
            output: bytes = self._brotli.process(data, output_buffer_limit=max_length)
        except _BROTLI.error as exc:
            raise BodyDecodeError(f"the br body is corrupt: {exc}") from None
        # Output is held back once the buffer reaches max_length: more is pending, so the limit is passed.
        if len(output) >= max_length or not self._brotli.can_accept_more_data():
            raise DecodedTooLargeError("decoded body passed its limit while undoing br")
        return output

    def flush(self) -> bytes:
        return b""  # process() already returned everything the input allowed


class BoundedDecoder:
    """Decodes a body chunk by chunk for its Content-Encoding, raising DecodedTooLargeError past `limit`."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self.limit = limit
        self.decoded_bytes = 0
        encodings = [part.strip().lower() for part in (content_encoding or "").split(",") if part.strip()]
        supported = all(encoding in _DECODABLE for encoding in encodings)
        # Codings are listed in the order they were applied, so they are undone in reverse.
        layers = [encoding for encoding in reversed(encodings) if encoding != "identity"] if supported else []
        self._layers = [_Unbrotli() if encoding == "br" else _Inflater(encoding) for encoding in layers]

    def feed(self, data: bytes) -> bytes:
        for layer in self._layers:
            data = layer.inflate(data, self.limit - self.decoded_bytes + 1)
        return self._count(data)

    def flush(self) -> bytes:
        data = b""
        for layer in self._layers:
            if data:
                data = layer.inflate(data, self.limit - self.decoded_bytes + 1)
            data += layer.flush()
        return self._count(data)

    def _count(self, data: bytes) -> bytes:
        self.decoded_bytes += len(data)
        if self.decoded_bytes > self.limit:
            raise DecodedTooLargeError(f"decoded body passed the {self.limit}-byte limit")
        return data
