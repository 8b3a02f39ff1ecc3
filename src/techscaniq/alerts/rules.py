"""Does a change match an alert rule? Pure functions, no I/O, so they can be tested and benchmarked alone.

Semantics (documented for users in the rule reference):
- `type` is the change kind, or "any".
- `change_types` empty means every change type *except recoveries* (RECOVERY_CHANGE_TYPES below):
  a recovery resolves the alert it answers instead of raising a new one, unless a rule lists it explicitly.
- `min_impact`: the change's impact is at least this.
- `technologies`, `categories`, `metrics`: each non-empty filter must be satisfied, compared
  case-insensitively. A change that carries no technology (or category, or metric) does not satisfy it.
- Changes explained by a fingerprint database update (`data_change`) and changes marked as false
  positives are ignored unless the caller asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.config import AlertConditions, AlertRule, ChangeCategory

# Good news that undoes an earlier change of the same (type, subject): it resolves, it does not alert.
RECOVERY_CHANGE_TYPES = frozenset({"recovered", "up", "improved", "finding_resolved", "trusted", "strengthened"})


def is_recovery(change: Change) -> bool:
    return change.change_type.lower() in RECOVERY_CHANGE_TYPES


def matches(conditions: AlertConditions, change: Change, include_data_changes: bool = False) -> bool:
    if change.false_positive or (change.data_change and not include_data_changes):
        return False
    if conditions.type is not ChangeCategory.ANY and conditions.type.value != change.type.value:
        return False
    change_type = change.change_type.lower()
    if conditions.change_types:
        if change_type not in {t.lower() for t in conditions.change_types}:
            return False
    elif change_type in RECOVERY_CHANGE_TYPES:
        return False
    if not change.impact.at_least(conditions.min_impact):
        return False
    if conditions.technologies and not _overlaps(conditions.technologies, technologies_of(change)):
        return False
    if conditions.categories and not _overlaps(conditions.categories, categories_of(change)):
        return False
    return not (conditions.metrics and not _overlaps(conditions.metrics, metrics_of(change)))


def matching_changes(rule: AlertRule, changes: Iterable[Change], include_data_changes: bool = False) -> list[Change]:
    """The changes of one scan that a rule selects (empty for a disabled rule)."""
    if not rule.enabled:
        return []
    return [change for change in changes if matches(rule.conditions, change, include_data_changes)]


def technologies_of(change: Change) -> set[str]:
    """The technology a change is about: its subject for technology changes, plus what evidence names."""
    names = _strings(change.evidence.get("technology")) | _strings(change.evidence.get("technologies"))
    if change.type is ChangeKind.TECHNOLOGY:
        names.add(change.subject)
    return names


def categories_of(change: Change) -> set[str]:
    """Detection categories, wherever change detection put them in the evidence (tolerant on purpose)."""
    evidence = change.evidence
    found = _strings(evidence.get("categories")) | _strings(evidence.get("category"))
    for key in ("detection", "after", "before"):
        nested = evidence.get(key)
        if isinstance(nested, dict):
            found |= _strings(nested.get("categories"))
    for value in (change.after, change.before):
        if isinstance(value, dict):
            found |= _strings(value.get("categories"))
    return found


def metrics_of(change: Change) -> set[str]:
    found = _strings(change.evidence.get("metric"))
    if change.type is ChangeKind.PERFORMANCE:
        found.add(change.subject)
    return found


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple | set):
        return {item for item in value if isinstance(item, str)}
    return set()


def _overlaps(wanted: list[str], present: set[str]) -> bool:
    lowered = {item.lower() for item in present}
    return any(item.lower() in lowered for item in wanted)
