"""Validation problems in plain words, not the validation library's: "must be an http or https URL", "is
required", "must be one of 'interval', 'cron'". Our own validators already speak plainly; pydantic's
"Value error, " prefix is dropped from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_BY_TYPE = {
    "missing": "is required",
    "extra_forbidden": "is not a known field (check its spelling)",
    "url_parsing": "must be an http or https URL",
    "url_scheme": "must be an http or https URL",
    "url_type": "must be an http or https URL",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object (key: value pairs)",
    "model_type": "must be an object (key: value pairs)",
    "model_attributes_type": "must be an object (key: value pairs)",
    "datetime_type": "must be a date and time (ISO 8601, e.g. 2026-06-01T09:00:00Z)",
    "datetime_parsing": "must be a date and time (ISO 8601, e.g. 2026-06-01T09:00:00Z)",
    "datetime_from_date_parsing": "must be a date and time (ISO 8601, e.g. 2026-06-01T09:00:00Z)",
    "time_parsing": "must be a time of day (HH:MM)",
    "json_invalid": "is not valid JSON",
    "union_tag_invalid": "has an unknown type",
    "union_tag_not_found": "needs a `type`",
}


def plain_message(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ValidationError.errors()) in plain words."""
    kind = str(error.get("type") or "")
    ctx = error.get("ctx") or {}
    message = str(error.get("msg") or "is not valid")
    if kind in ("value_error", "assertion_error"):
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "enum" or kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}".strip()
    if kind == "union_tag_invalid":
        return f"has an unknown type {ctx.get('tag')!r}: use one of {ctx.get('expected_tags', '')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most",
                 "less_than": "less than"}[kind]
        limit = next((ctx[key] for key in ("ge", "gt", "le", "lt") if key in ctx), "")
        return f"must be {words} {limit}"
    if kind in ("string_too_short", "too_short"):
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must have at least {least} characters or items"
    if kind in ("string_too_long", "too_long"):
        return f"must have at most {ctx.get('max_length')} characters or items"
    if kind == "string_pattern_mismatch":
        return f"does not have the expected form ({ctx.get('pattern')})"
    return _BY_TYPE.get(kind, message)


def field_name(location: Any) -> str:
    """('alert_rules', 0, 'notification_channels', 1, 'webhook', 'url') ->
    'alert_rules[0].notification_channels[1].url'. The tag pydantic adds for a tagged union member
    (`webhook`) is not a field the user wrote: it goes."""
    text = ""
    parts = list(location or ())
    for index, part in enumerate(parts):
        if isinstance(part, int):
            text += f"[{part}]"
        elif index > 0 and isinstance(parts[index - 1], int) and part in _CHANNEL_TAGS:
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


_CHANNEL_TAGS = {"email", "slack", "webhook", "apprise", "interval", "cron"}


def describe_errors(errors: list[Any], prefix: str = "") -> str:
    """All problems of one ValidationError on one line: 'url: must be an http or https URL; schedule: ...'."""
    parts = []
    for error in errors:
        field = field_name(error.get("loc"))
        where = f"{prefix}{'.' if prefix and field and not field.startswith('[') else ''}{field}"
        parts.append(f"{where}: {plain_message(error)}" if where else plain_message(error))
    return "; ".join(parts)
