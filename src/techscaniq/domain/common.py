"""Small shared vocabulary: ids, clocks, impact levels and secret handling."""

from __future__ import annotations

import difflib
import functools
import re
import uuid
import zoneinfo
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, SecretStr, SerializationInfo, ValidationInfo, WrapSerializer

SCHEMA_VERSION = 1


def new_id() -> str:
    return uuid.uuid4().hex


# Ids a tenant chooses end up in URL paths: '/', '?', '#', '%' or spaces made them unreachable.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Validation context: ids already stored under other rules, which may stay as they are.
KNOWN_IDS = "known_ids"


def _safe_id(value: str, info: ValidationInfo) -> str:
    context = info.context or {}
    if SAFE_ID.fullmatch(value) or context.get("stored") or value in context.get(KNOWN_IDS, ()):
        return value
    raise ValueError("must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit "
                     "(ids are used in URLs)")


SafeId = Annotated[str, AfterValidator(_safe_id)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Impact(StrEnum):
    """How much a change matters. Ordered: compare with `rank`."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _IMPACT_ORDER[self]

    def at_least(self, other: Impact) -> bool:
        return self.rank >= other.rank


_IMPACT_ORDER = {Impact.LOW: 0, Impact.MEDIUM: 1, Impact.HIGH: 2, Impact.CRITICAL: 3}

# Severity of an alert uses the same scale as impact.
Severity = Impact


def _known_time_zone(value: str) -> str:
    if len(value) > 64:  # the longest IANA name is 32; a long one would reach the file system as a path
        raise ValueError(f"unknown time zone {value[:64]!r}... (names are at most 64 characters)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        suggestion = _closest_time_zone(value)
        hint = f" — did you mean {suggestion!r}?" if suggestion else " (an IANA name such as 'Europe/Paris' or 'UTC')"
        raise ValueError(f"unknown time zone {value!r}{hint}") from None
    return value


@functools.cache
def _time_zones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _closest_time_zone(value: str) -> str | None:
    """'europe/paris' -> 'Europe/Paris' (case), 'Europe/Pariss' -> 'Europe/Paris' (a typo)."""
    zones = _time_zones()
    wanted = value.strip().lower().replace(" ", "_")
    if wanted in zones:
        return zones[wanted]
    close = difflib.get_close_matches(wanted, list(zones), n=1, cutoff=0.85)
    return zones[close[0]] if close else None


# An IANA time zone name ("Europe/Berlin"), refused with a clear message when unknown.
TimeZoneName = Annotated[str, AfterValidator(_known_time_zone)]


class SecretCodec(Protocol):
    """Encrypts secrets on their way into the database and back (storage/secret_box.py)."""

    def encrypt(self, plain: str) -> str: ...

    def decrypt(self, stored: str) -> str: ...


def _serialize_secret(value: SecretStr | None, handler: Any, info: SerializationInfo) -> Any:
    """Secrets are masked everywhere except when storage asks for them explicitly (encrypted, when it
    passes a `secret_box`)."""
    if value is None:
        return None
    context = info.context or {}
    if context.get("reveal_secrets"):
        box: SecretCodec | None = context.get("secret_box")
        return box.encrypt(value.get_secret_value()) if box is not None else value.get_secret_value()
    return "**********"


def _decrypt_stored(value: Any, info: ValidationInfo) -> Any:
    box: SecretCodec | None = (info.context or {}).get("secret_box")
    return box.decrypt(value) if box is not None and isinstance(value, str) else value


Secret = Annotated[SecretStr, BeforeValidator(_decrypt_stored), WrapSerializer(_serialize_secret)]

REVEAL_SECRETS = {"reveal_secrets": True}
