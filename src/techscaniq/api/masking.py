"""Secrets are shown masked; a client that sends a masked value back means "unchanged".

Without this, reading a config and writing it back (the dashboard's edit form, an export re-imported)
would replace every webhook URL and password with the mask."""

from __future__ import annotations

from typing import Any

from techscaniq.api.errors import FieldError

MASK = "**********"


def restore_masked(new: Any, old: Any) -> Any:
    """`new` with every masked value replaced by the value at the same place in `old`. Lists of objects
    with an `id` (alert rules) are matched by id, other lists by position."""
    if isinstance(new, str):
        return old if new == MASK and isinstance(old, str) else new
    if isinstance(new, dict):
        previous = old if isinstance(old, dict) else {}
        return {key: restore_masked(value, previous.get(key)) for key, value in new.items()}
    if isinstance(new, list):
        previous_list = old if isinstance(old, list) else []
        by_id = {item["id"]: item for item in previous_list if isinstance(item, dict) and "id" in item}
        restored = []
        for index, item in enumerate(new):
            if isinstance(item, dict) and "id" in item:
                match = by_id.get(item["id"])
            else:
                match = previous_list[index] if index < len(previous_list) else None
            restored.append(restore_masked(item, match))
        return restored
    return new


def masked_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first masked value left in `value`, or None."""
    if isinstance(value, str):
        return path if value == MASK else None
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        items = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    for key, item in items:
        found = masked_field(item, f"{path}.{key}" if path else key)
        if found is not None:
            return found
    return None


def refuse_masked(value: Any) -> None:
    """422 naming the field when a masked value would be stored as if it were the secret."""
    field = masked_field(value)
    if field is not None:
        raise FieldError(field, "a masked secret ('**********') cannot be stored; send the value", kind="masked_secret")
