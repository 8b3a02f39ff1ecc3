"""A scan document split in two: its *shape*, what repeats while a page stays unchanged (response headers,
technologies, the security report, sizes and counts, the body's hash), stored once per distinct value under its
sha256; and its *check*, what every check measures anew (finish and schedule times, duration, every `*_ms`
timing, the Date header), a short JSON list kept in the scan's own row. `join(shape, check, ...)` gives back the
document `split` was given, so the API, events and change evidence see whole scans.

Slots: in the shape, a timing or Date value is null; the check lists the values in the order a walk of the shape
(keys sorted) meets those nulls, so the shape of an unchanged page is byte-identical from one check to the next."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

CHECK_FORMAT = 1
# Kept in the row's own columns, or in the check: never part of a shape.
_ROW_FIELDS = ("id", "config_id", "organization_id", "status", "trigger", "started_at")
_CHECK_FIELDS = ("scheduled_for", "finished_at", "duration_ms")
_MICROSECOND = timedelta(microseconds=1)
_SAME = "="  # in a shape: this timing equals the one of the same name met before


def _is_timing(key: str) -> bool:
    return key.endswith("_ms") or key == "cls"


def _slots(node: Any, values: Iterator[Any] | None, taken: list[Any], seen: dict[str, Any]) -> Any:
    """A copy of a performance subtree with each timing taken out (split: `values` None, appended to `taken`)
    or put back (join: the next of `values`). A timing repeating the one of the same name met before (the
    metric dns_ms and details.timings.dns_ms are one measurement) is written "=" in the shape, not twice.
    Keys are walked in sorted order: PostgreSQL's JSONB gives objects back in an order of its own."""
    if isinstance(node, dict):
        copy: dict[str, Any] = {}
        for key, value in sorted(node.items()):
            if values is not None and _is_timing(key) and (value is None or value == _SAME):
                copy[key] = seen[key] if value == _SAME else next(values)
                seen[key] = copy[key]
            elif values is None and _is_timing(key) and _is_number(value):
                if key in seen and seen[key] == value and value is not None:
                    copy[key] = _SAME
                else:
                    taken.append(value)
                    copy[key] = None
                seen[key] = value
            else:
                copy[key] = _slots(value, values, taken, seen)
        return {key: copy[key] for key in node}  # in the order given
    if isinstance(node, list):
        return [_slots(item, values, taken, seen) for item in node]
    return node


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _headers(headers: list[Any], values: Iterator[Any] | None, taken: list[Any]) -> list[Any]:
    rebuilt = []
    for name, value in headers:
        if str(name).lower() == "date":  # the server's clock: different on every response by definition
            if values is None:
                taken.append(value)
                value = None
            else:
                value = next(values)
        rebuilt.append([name, value])
    return rebuilt


def _offset(moment: str | None, started: datetime) -> int | None:
    return None if moment is None else (datetime.fromisoformat(moment) - started) // _MICROSECOND


def split(document: dict[str, Any], started: datetime) -> tuple[dict[str, Any], list[Any]]:
    """(shape, check) of a scan document as `document()` writes it; `started` is its started_at."""
    shape = {key: value for key, value in document.items() if key not in _ROW_FIELDS and key not in _CHECK_FIELDS}
    slots: list[Any] = []
    if shape.get("performance") is not None:
        shape["performance"] = _slots(shape["performance"], None, slots, {})
    if shape.get("response") is not None:
        shape["response"] = {**shape["response"], "headers": _headers(shape["response"]["headers"], None, slots)}
    check = [CHECK_FORMAT, _offset(document.get("scheduled_for"), started),
             _offset(document.get("finished_at"), started), document.get("duration_ms"), *slots]
    return shape, check


def join(shape: dict[str, Any], check: list[Any], row: dict[str, Any]) -> dict[str, Any]:
    """The whole document again; `row` holds the row's own columns (id, config_id, ..., started_at)."""
    _format, scheduled, finished, duration, *slots = check
    started: datetime = row["started_at"]
    values = iter(slots)
    document = {**row, **shape, "duration_ms": duration,
                "scheduled_for": None if scheduled is None else started + scheduled * _MICROSECOND,
                "finished_at": None if finished is None else started + finished * _MICROSECOND}
    if shape.get("performance") is not None:
        document["performance"] = _slots(shape["performance"], values, [], {})
    if shape.get("response") is not None:
        document["response"] = {**shape["response"], "headers": _headers(shape["response"]["headers"], values, [])}
    return document


def shape_hash(shape: dict[str, Any], body_hash: str | None) -> bytes:
    """sha256 of the shape in canonical JSON and the body it was fetched with: equal content, equal key."""
    canonical = json.dumps(shape, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{canonical}\0{body_hash or ''}".encode()).digest()
