"""Credentials never reach a log line: a filter on every handler replaces query tokens, bearer
credentials and anything shaped like a JWT with [REDACTED] (uvicorn logs WebSocket URLs, old
clients still put `?token=` in them, and a traceback may quote a header)."""

from __future__ import annotations

import logging
import re

REDACTED = "[REDACTED]"

_PATTERNS = (
    # ?token=..., &access_token=..., api_key=... in URLs and messages: keep the name, drop the value.
    (re.compile(r"(?i)\b((?:access_|id_|refresh_)?token|api_key|apikey|key)=[^\s&\"'<>]+"), rf"\1={REDACTED}"),
    # Authorization: Bearer <credential>, and the WebSocket subprotocol form bearer.<credential>.
    (re.compile(r"(?i)\bbearer[ .]+[^\s,\"'<>]+"), f"Bearer {REDACTED}"),
    # A JWT anywhere: three base64url parts, the first one a JSON header ("eyJ" is '{"' encoded).
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), REDACTED),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites the record in place (message and traceback), so every later handler sees it clean.
    A record reaches several handlers (the main file, a component file, the console): it is cleaned once."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        record._redacted = True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
