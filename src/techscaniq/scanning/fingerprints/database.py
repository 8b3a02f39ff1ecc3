"""Loading Wappalyzer-format fingerprint databases.

A source is a directory with `technologies/*.json` (or a `technologies.json`), `categories.json` and
`groups.json`, or a single technologies JSON file. Later sources merge over earlier ones pattern by
pattern (merging.py), one entry per product (names.py: aliases, case); an organization's custom
fingerprints instead replace the base entry of the same product wholesale, so an organization can
correct an entry.

Bad data never stops loading: a broken pattern is skipped, an unknown or mistyped field is skipped,
a technology that is not an object is skipped; each with a warning that names the technology and
field, kept in `FingerprintDatabase.warnings` and logged.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from techscaniq.domain.technology_names import canonical_name, name_key
from techscaniq.scanning.fingerprints.merging import merge_technology, renamed
from techscaniq.scanning.fingerprints.patterns import Pattern, PatternError, parse_pattern, split_tags

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"

# Sources whose value is a pattern string or a list of them.
LIST_SOURCES = ("html", "text", "css", "robots", "scriptSrc", "scripts", "url", "xhr", "certIssuer")
# Sources whose value maps a key (header, cookie, meta name, record type, JS property) to patterns.
KEYED_SOURCES = ("headers", "cookies", "meta", "dns", "js")
NAME_LISTS = ("implies", "excludes", "requires")
INFO_FIELDS = {
    "description": str,
    "website": str,
    "icon": str,
    "cpe": str,
    "oss": bool,
    "saas": bool,
    "pricing": list,
}
# Fields that are valid but that an HTTP response cannot answer (active probing is not done).
IGNORED_FIELDS = frozenset({"probe"})
KNOWN_FIELDS = frozenset(
    {"cats", "dom", "requiresCategory", *LIST_SOURCES, *KEYED_SOURCES, *NAME_LISTS, *INFO_FIELDS, *IGNORED_FIELDS}
)


@dataclass(slots=True)
class Category:
    id: int
    name: str
    priority: int = 10
    groups: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Group:
    id: int
    name: str


@dataclass(slots=True)
class Relation:
    """An `implies` (or `requires`/`excludes`) target with its tags."""

    name: str
    confidence: int = 100
    version: str | None = None


@dataclass(slots=True)
class DomCheck:
    """One `dom` entry: a CSS selector and what must hold for an element it selects."""

    technology: str
    selector: str
    exists: bool = False
    text: Pattern | None = None
    attributes: dict[str, Pattern] = field(default_factory=dict)
    properties: dict[str, Pattern] = field(default_factory=dict)

    def patterns(self) -> list[Pattern]:
        return [*([self.text] if self.text else []), *self.attributes.values(), *self.properties.values()]


@dataclass(slots=True)
class Technology:
    name: str
    categories: list[int] = field(default_factory=list)
    website: str | None = None
    description: str | None = None
    icon: str | None = None
    cpe: str | None = None
    oss: bool | None = None
    saas: bool | None = None
    pricing: list[str] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    dom: list[DomCheck] = field(default_factory=list)
    implies: list[Relation] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    requires_category: list[int] = field(default_factory=list)


@dataclass(slots=True)
class SourceInfo:
    """Where a part of the database came from: `label` (name), `ref` (recorded commit) and content digest."""

    label: str
    digest: str
    ref: str | None = None
    path: str | None = None

    @property
    def version(self) -> str:
        return f"{self.label}@{self.ref[:12] if self.ref else 'sha256:' + self.digest[:12]}"


@dataclass
class FingerprintDatabase:
    technologies: dict[str, Technology] = field(default_factory=dict)
    categories: dict[int, Category] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    sources: list[SourceInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        """Identifies the exact fingerprints a scan used: each source's recorded commit or content hash."""
        return "+".join(source.version for source in self.sources) or "empty"

    def merge(self, other: FingerprintDatabase, *, replace: bool = False) -> FingerprintDatabase:
        """A new database with `other` layered over this one. An entry of the same product (by `name_key`)
        merges pattern by pattern (merging.py), or with `replace` is replaced wholesale (an organization's
        correction). `other`'s categories and groups replace ours of the same id. Relation targets
        (`implies`, `excludes`, `requires`) are renamed to the merged entries' names."""
        technologies = dict(self.technologies)
        keys = {name_key(name): name for name in technologies}
        for name, technology in other.technologies.items():
            existing = keys.get(name_key(name))
            if existing is None:
                technologies[name] = technology
                keys[name_key(name)] = name
            elif replace:
                del technologies[existing]
                technologies[name] = technology
                keys[name_key(name)] = name
            else:
                technologies[existing] = merge_technology(technologies[existing], technology)
        _rename_relations(technologies, keys)
        return FingerprintDatabase(
            technologies=technologies,
            categories={**self.categories, **other.categories},
            groups={**self.groups, **other.groups},
            sources=[*self.sources, *other.sources],
            warnings=[*self.warnings, *other.warnings],
        )

    def category_names(self, technology: Technology) -> list[str]:
        return [self.categories[c].name for c in technology.categories if c in self.categories]

    def group_names(self, technology: Technology) -> list[str]:
        names: list[str] = []
        for cat in technology.categories:
            for group_id in self.categories[cat].groups if cat in self.categories else ():
                group = self.groups.get(group_id)
                if group and group.name not in names:
                    names.append(group.name)
        return names


def _rename_relations(technologies: dict[str, Technology], keys: dict[str, str]) -> None:
    """Point every relation at the entry's name in `technologies` ("TYPO3 CMS" -> "TYPO3")."""
    def actual(name: str) -> str:
        return name if name in technologies else keys.get(name_key(name), name)

    for name, technology in technologies.items():
        if any(actual(r.name) != r.name for r in technology.implies) or any(
                actual(n) != n for n in (*technology.excludes, *technology.requires)):
            technologies[name] = copy.copy(technology)  # the entry may belong to another database too
            technologies[name].implies = [Relation(actual(r.name), r.confidence, r.version)
                                          for r in technology.implies]
            technologies[name].excludes = [actual(n) for n in technology.excludes]
            technologies[name].requires = [actual(n) for n in technology.requires]


def _add_technology(technologies: dict[str, Technology], keys: dict[str, str], technology: Technology) -> None:
    """Add one parsed entry to a source's set: an alias is stored under its canonical name, and a second
    spelling of a name already there ("timeago" after "Timeago") merges into it."""
    key = name_key(technology.name)
    existing = keys.get(key)
    if existing is None:
        name = canonical_name(technology.name)
        keys[key] = name
        technologies[name] = renamed(technology, name)
    else:
        technologies[existing] = merge_technology(technologies[existing], technology)


def load_database(sources: Iterable[str | Path] | str | Path) -> FingerprintDatabase:
    """Load and merge Wappalyzer-format sources in order (later ones win). Raises FileNotFoundError for a
    path that does not exist; everything wrong inside the data is skipped with a warning."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    database = FingerprintDatabase()
    for source in sources:
        database = database.merge(load_source(Path(source)))
    return database


def database_from_json(technologies: Mapping[str, Any] | str, label: str = "custom") -> FingerprintDatabase:
    """A database from in-memory Wappalyzer-format technologies (e.g. an organization's custom set).
    Raises ValueError when the text is not JSON or not an object; bad entries inside are skipped with warnings."""
    if isinstance(technologies, str):
        try:
            technologies = json.loads(technologies)
        except ValueError as exc:
            raise ValueError(f"custom fingerprints are not valid JSON: {exc}") from exc
    if not isinstance(technologies, Mapping):
        raise ValueError("custom fingerprints must be a JSON object mapping technology names to fingerprints")
    warnings: list[str] = []
    database = FingerprintDatabase(warnings=warnings)
    keys: dict[str, str] = {}
    for name, spec in technologies.items():
        technology = parse_technology(str(name), spec, warnings)
        if technology is not None:
            _add_technology(database.technologies, keys, technology)
    canonical = json.dumps(technologies, sort_keys=True, default=str).encode()
    database.sources.append(SourceInfo(label=label, digest=hashlib.sha256(canonical).hexdigest()))
    return database


def load_source(path: Path) -> FingerprintDatabase:
    if not path.exists():
        raise FileNotFoundError(f"fingerprint source not found: {path}")
    hasher = hashlib.sha256()
    warnings: list[str] = []
    raw_technologies: dict[str, Any] = {}
    categories: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    if path.is_dir():
        files = sorted((path / "technologies").glob("*.json")) if (path / "technologies").is_dir() else []
        if (path / "technologies.json").is_file():
            files.append(path / "technologies.json")
        for file in files:
            raw_technologies.update(_read_object(file, hasher, warnings))
        if (path / "categories.json").is_file():
            categories = _read_object(path / "categories.json", hasher, warnings)
        if (path / "groups.json").is_file():
            groups = _read_object(path / "groups.json", hasher, warnings)
    else:
        document = _read_object(path, hasher, warnings)
        # Old single-file form: {"technologies": {...}, "categories": {...}}; otherwise the file is technologies.
        if isinstance(document.get("technologies"), dict):
            raw_technologies = document["technologies"]
            categories = document["categories"] if isinstance(document.get("categories"), dict) else {}
            groups = document["groups"] if isinstance(document.get("groups"), dict) else {}
        else:
            raw_technologies = document
    database = FingerprintDatabase(warnings=warnings)
    database.categories = _parse_categories(categories, warnings)
    database.groups = _parse_groups(groups, warnings)
    keys: dict[str, str] = {}
    for name, spec in raw_technologies.items():
        technology = parse_technology(name, spec, warnings)
        if technology is not None:
            _add_technology(database.technologies, keys, technology)
    _rename_relations(database.technologies, keys)
    manifest = _read_manifest(path)
    database.sources.append(
        SourceInfo(
            label=str(manifest.get("source_name") or _label(path)),
            digest=hasher.hexdigest(),
            ref=manifest.get("ref") or None,
            path=str(path),
        )
    )
    for warning in warnings:
        log.warning("fingerprints %s: %s", path, warning)
    return database


def _label(path: Path) -> str:
    from techscaniq.scanning.fingerprints.builtin import builtin_database_path

    try:
        if path.resolve() == builtin_database_path().resolve():
            return "techscaniq"
    except OSError:  # pragma: no cover
        pass
    return path.stem if path.is_file() else path.name


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest = path / MANIFEST if path.is_dir() else None
    if manifest is None or not manifest.is_file():
        return {}
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_object(file: Path, hasher: Any, warnings: list[str]) -> dict[str, Any]:
    try:
        raw = file.read_bytes()
        hasher.update(file.name.encode() + b"\0" + raw)
        data = json.loads(raw)
    except (OSError, ValueError) as exc:
        warnings.append(f"{file.name}: unreadable JSON, skipped ({exc})")
        return {}
    if not isinstance(data, dict):
        warnings.append(f"{file.name}: expected a JSON object, skipped")
        return {}
    return data


def _parse_categories(raw: Mapping[str, Any], warnings: list[str]) -> dict[int, Category]:
    categories: dict[int, Category] = {}
    for key, spec in raw.items():
        try:
            cat_id = int(key)
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise ValueError("needs a name")
            priority = int(spec.get("priority", 10))
            group_ids = [int(g) for g in spec.get("groups", [])]
        except (TypeError, ValueError) as exc:
            warnings.append(f"category {key!r}: skipped ({exc})")
            continue
        categories[cat_id] = Category(cat_id, spec["name"], priority, group_ids)
    return categories


def _parse_groups(raw: Mapping[str, Any], warnings: list[str]) -> dict[int, Group]:
    groups: dict[int, Group] = {}
    for key, spec in raw.items():
        if not (isinstance(spec, dict) and isinstance(spec.get("name"), str) and str(key).isdigit()):
            warnings.append(f"group {key!r}: skipped (needs a numeric id and a name)")
            continue
        groups[int(key)] = Group(int(key), spec["name"])
    return groups


def parse_technology(name: str, spec: Any, warnings: list[str]) -> Technology | None:
    if not isinstance(spec, dict):
        warnings.append(f"technology {name!r}: not an object, skipped")
        return None
    technology = Technology(name=name)

    def warn(field_name: str, problem: str) -> None:
        warnings.append(f"technology {name!r} field {field_name!r}: {problem}")

    for field_name, value in spec.items():
        if field_name not in KNOWN_FIELDS:
            warn(field_name, "unknown field, skipped")
        elif field_name in IGNORED_FIELDS:
            continue
        elif field_name == "cats":
            ids = _int_list(value)
            if ids is None:
                warn(field_name, "must be a list of category ids, skipped")
            else:
                technology.categories = ids
        elif field_name == "requiresCategory":
            ids = _int_list(value)
            if ids is None:
                warn(field_name, "must be a list of category ids, skipped")
            else:
                technology.requires_category = ids
        elif field_name in INFO_FIELDS:
            if not isinstance(value, INFO_FIELDS[field_name]):
                warn(field_name, f"must be {INFO_FIELDS[field_name].__name__}, skipped")
            else:
                setattr(technology, field_name, value)
        elif field_name in NAME_LISTS:
            items = _str_list(value)
            if items is None:
                warn(field_name, "must be a string or a list of strings, skipped")
                continue
            relations = [_relation(item) for item in items]
            if field_name == "implies":
                technology.implies = relations
            elif field_name == "requires":
                technology.requires = [r.name for r in relations]
            else:
                technology.excludes = [r.name for r in relations]
        elif field_name in LIST_SOURCES:
            items = _str_list(value)
            if items is None:
                warn(field_name, "must be a pattern string or a list of them, skipped")
                continue
            for item in items:
                _add_pattern(technology, field_name, None, item, warn)
        elif field_name in KEYED_SOURCES:
            if not isinstance(value, dict):
                warn(field_name, "must be an object mapping names to patterns, skipped")
                continue
            for key, patterns in value.items():
                items = _str_list(patterns)
                if items is None:
                    warn(f"{field_name}.{key}", "must be a pattern string or a list of them, skipped")
                    continue
                for item in items:
                    _add_pattern(technology, field_name, str(key), item, warn)
        elif field_name == "dom":
            _add_dom(technology, value, warn)
    return technology


def _add_pattern(technology: Technology, source: str, key: str | None, raw: str, warn: Any) -> None:
    try:
        technology.patterns.append(parse_pattern(technology.name, source, _normal_key(source, key), raw))
    except PatternError as exc:
        warn(f"{source}.{key}" if key is not None else source, f"{exc}; pattern skipped")


def _normal_key(source: str, key: str | None) -> str | None:
    if key is None:
        return None
    if source == "js":  # JavaScript property chains are case-sensitive
        return key
    if source == "dns":
        return key.upper()
    key = key.lower()
    return key[4:] if key.startswith("(?i)") else key


def _add_dom(technology: Technology, value: Any, warn: Any) -> None:
    if isinstance(value, (str, list)):
        selectors = _str_list(value)
        if selectors is None:
            warn("dom", "must be a selector, a list of selectors or an object, skipped")
            return
        technology.dom.extend(DomCheck(technology.name, selector, exists=True) for selector in selectors)
        return
    if not isinstance(value, dict):
        warn("dom", "must be a selector, a list of selectors or an object, skipped")
        return
    for selector, spec in value.items():
        if not isinstance(spec, dict):
            warn(f"dom.{selector}", "must be an object, skipped")
            continue
        check = DomCheck(technology.name, selector, exists="exists" in spec or not spec)
        try:
            if "text" in spec:
                check.text = parse_pattern(technology.name, "dom", selector, spec["text"])
            for kind in ("attributes", "properties"):
                entries = spec.get(kind, {})
                if not isinstance(entries, dict):
                    raise PatternError(f"{kind} must be an object")
                for attr, raw in entries.items():
                    getattr(check, kind)[attr] = parse_pattern(technology.name, "dom", selector, raw)
        except PatternError as exc:
            warn(f"dom.{selector}", f"{exc}; skipped")
            continue
        technology.dom.append(check)


def _relation(raw: str) -> Relation:
    name, tags = split_tags(raw)
    try:
        confidence = max(0, min(100, int(tags.get("confidence", 100))))
    except ValueError:
        confidence = 100
    return Relation(name=name.strip(), confidence=confidence, version=tags.get("version") or None)


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def _int_list(value: Any) -> list[int] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return [int(value)]
    if isinstance(value, list) and all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in value):
        return [int(item) for item in value]
    return None
