"""Merging two entries of one product, pattern by pattern, when fingerprint sets are layered.

Our built-in set and the community database both describe WordPress, jQuery or Open Graph; neither
replaces the other's entry wholesale, because each may hold evidence the other lacks (our
`jquery.min.js?ver=3.6.1` version pattern, their browser-mode `js` check). Precedence, `base` being the
earlier source (our built-in set) and `over` the later one:

- name: the base's spelling (the one users already see in stored scans); aliases fold into it;
- patterns and `dom` checks: the union; a pattern both have (same source, key and regex) is kept once,
  with the version template of whichever has one (the base's when both do);
- `implies`: the union; one target implied by both keeps the higher confidence and a version if either
  gives one; `excludes`: the union, minus any technology either side implies (a contradiction would
  hide what the other side detects);
- `requires` / `requiresCategory`: what both sides demand (their intersection), so merging never makes an
  entry harder to detect than either side alone; a side with no patterns of its own demands nothing;
- categories: the union (base first); website, description, icon, CPE, oss, saas, pricing: the later
  source's value when it has one, else the base's.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Protocol, TypeVar

from techscaniq.domain.technology_names import name_key

if TYPE_CHECKING:
    from techscaniq.scanning.fingerprints.database import DomCheck, Relation, Technology
    from techscaniq.scanning.fingerprints.patterns import Pattern

class _Owned(Protocol):
    technology: str


_T = TypeVar("_T", bound=_Owned)
_Item = TypeVar("_Item", str, int)
_INFO = ("website", "description", "icon", "cpe", "oss", "saas")


def merge_technology(base: Technology, over: Technology) -> Technology:
    """A new entry with the evidence of both (see the module docstring for the precedence)."""
    from techscaniq.scanning.fingerprints.database import Technology

    merged = Technology(name=base.name)
    merged.categories = [*base.categories, *(c for c in over.categories if c not in base.categories)]
    for attribute in _INFO:
        later = getattr(over, attribute)
        setattr(merged, attribute, later if later is not None else getattr(base, attribute))
    merged.pricing = over.pricing or base.pricing
    merged.patterns = _patterns(base.name, base.patterns, over.patterns)
    merged.dom = _dom(base.name, base.dom, over.dom)
    merged.implies = _implies(base.implies, over.implies)
    implied = {name_key(relation.name) for relation in merged.implies}
    merged.excludes = [name for name in _union(base.excludes, over.excludes) if name_key(name) not in implied]
    merged.requires = _demanded(base, over, base.requires, over.requires)
    merged.requires_category = _demanded(base, over, base.requires_category, over.requires_category)
    return merged


def renamed(technology: Technology, name: str) -> Technology:
    """`technology` under another name (its patterns report that name)."""
    if technology.name == name:
        return technology
    moved = copy.copy(technology)
    moved.name = name
    moved.patterns = [_owned(pattern, name) for pattern in technology.patterns]
    moved.dom = [_owned(check, name) for check in technology.dom]
    return moved


def _owned(item: _T, name: str) -> _T:
    if item.technology == name:
        return item
    moved = copy.copy(item)
    moved.technology = name
    return moved


def _patterns(name: str, base: list[Pattern], over: list[Pattern]) -> list[Pattern]:
    merged = list(base)
    where = {(p.source, p.key, p.regex_text): index for index, p in enumerate(merged)}
    for pattern in over:
        identity = (pattern.source, pattern.key, pattern.regex_text)
        index = where.get(identity)
        if index is None:
            where[identity] = len(merged)
            merged.append(_owned(pattern, name))
        elif merged[index].version is None and pattern.version is not None:
            merged[index] = _owned(pattern, name)
    return merged


def _dom(name: str, base: list[DomCheck], over: list[DomCheck]) -> list[DomCheck]:
    def identity(check: DomCheck) -> tuple[object, ...]:
        return (check.selector, check.exists, check.text.regex_text if check.text else None,
                tuple(sorted((k, p.regex_text) for k, p in check.attributes.items())),
                tuple(sorted((k, p.regex_text) for k, p in check.properties.items())))

    seen = {identity(check) for check in base}
    return [*base, *(_owned(check, name) for check in over if identity(check) not in seen)]


def _implies(base: list[Relation], over: list[Relation]) -> list[Relation]:
    from techscaniq.scanning.fingerprints.database import Relation

    merged: dict[str, Relation] = {}
    for relation in (*base, *over):
        key = name_key(relation.name)
        known = merged.get(key)
        if known is None:
            merged[key] = Relation(relation.name, relation.confidence, relation.version)
        else:
            known.confidence = max(known.confidence, relation.confidence)
            known.version = known.version or relation.version
    return list(merged.values())


def _union(base: list[str], over: list[str]) -> list[str]:
    keys = {name_key(name) for name in base}
    return [*base, *(name for name in over if name_key(name) not in keys)]


def _demanded(base: Technology, over: Technology, first: list[_Item], second: list[_Item]) -> list[_Item]:
    if not (over.patterns or over.dom):
        return list(first)
    if not (base.patterns or base.dom):
        return list(second)

    def key(item: _Item) -> object:
        return name_key(item) if isinstance(item, str) else item

    wanted = {key(item) for item in second}
    return [item for item in first if key(item) in wanted]
