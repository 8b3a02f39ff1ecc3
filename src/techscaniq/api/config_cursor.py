"""The opaque cursor of config listings: the (created_at, id) of a page's last config, base64url JSON."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from techscaniq.api.errors import FieldError


def encode_cursor(created_at: datetime, config_id: str) -> str:
    text = json.dumps([created_at.isoformat(), config_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, config_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(created)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise FieldError("cursor", "not a cursor this API gave (use the X-Next-Cursor of the previous page)",
                         location="query") from None
    if at.tzinfo is None or not isinstance(config_id, str):
        raise FieldError("cursor", "not a cursor this API gave (use the X-Next-Cursor of the previous page)",
                         location="query")
    return at, config_id
