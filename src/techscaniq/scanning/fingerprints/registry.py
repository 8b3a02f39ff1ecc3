"""Which fingerprints a scan uses: the base set, plus each organization's custom fingerprints.

The base is our shipped set, then the community database installed by `techscaniq fingerprints update`
(DATA_DIR/fingerprints), then FINGERPRINTS_DIR; each merged over the previous pattern by pattern. An
organization's custom entry replaces the base entry of its product (its correction). Engines are compiled
once and cached, per organization when it has custom fingerprints.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from techscaniq.scanning.fingerprints.builtin import builtin_database_path
from techscaniq.scanning.fingerprints.database import FingerprintDatabase, database_from_json, load_database
from techscaniq.scanning.fingerprints.engine import FingerprintEngine
from techscaniq.scanning.fingerprints.patterns import Pattern
from techscaniq.settings import Settings

MAX_CACHED_ORGANIZATIONS = 64


def installed_database_path(settings: Settings) -> Path:
    return settings.data_dir / "fingerprints"


def base_sources(settings: Settings) -> list[Path]:
    sources = []
    for candidate in (builtin_database_path(), installed_database_path(settings), settings.fingerprints_dir):
        if candidate is not None and _has_technologies(candidate):
            sources.append(candidate)
    if settings.fingerprints_dir is not None and not settings.fingerprints_dir.exists():
        raise FileNotFoundError(f"FINGERPRINTS_DIR not found: {settings.fingerprints_dir}")
    return sources


def check_source(path: Path, name: str) -> None:
    """Raise FileNotFoundError naming `name` (an option or setting) when `path` holds no fingerprints."""
    if not path.exists():
        raise FileNotFoundError(f"{name} {path}: no such file or directory")
    if not _has_technologies(path):
        raise FileNotFoundError(f"{name} {path}: no Wappalyzer-format technologies in it "
                                "(technologies.json or technologies/*.json)")


def one_off_cache_dir(settings: Settings) -> Path:
    """Where a one-off CLI scan keeps compiled fingerprints: the data directory when one is configured
    (DATA_DIR) or already exists, else the user's cache directory, never a new ./data wherever it runs."""
    if "data_dir" in settings.model_fields_set or settings.data_dir.is_dir():
        return settings.data_dir / "cache" / "fingerprints"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "techscaniq" / "fingerprints"


def _has_technologies(path: Path) -> bool:
    if path.is_file():
        return True
    return (path / "technologies.json").is_file() or any((path / "technologies").glob("*.json"))


class FingerprintRegistry:
    """Thread-safe; `engine(organization_id)` is what the scan pipeline calls."""

    def __init__(self, settings: Settings, cache_dir: Path | None = None) -> None:
        """`cache_dir`: where compiled hyperscan databases are kept (default DATA_DIR/cache/fingerprints)."""
        self.settings = settings
        self._lock = threading.RLock()
        self._base: FingerprintEngine | None = None
        self._custom: dict[str, FingerprintDatabase] = {}
        self._versions: dict[str, datetime | None] = {}  # the stored set each organization's custom one is
        self._engines: OrderedDict[str, FingerprintEngine] = OrderedDict()
        self._cache_dir = cache_dir or settings.data_dir / "cache" / "fingerprints"

    def base_database(self) -> FingerprintDatabase:
        return self.engine(None).database

    def engine(self, organization_id: str | None = None) -> FingerprintEngine:
        with self._lock:
            if self._base is None:
                self._base = FingerprintEngine(load_database(base_sources(self.settings)), cache_dir=self._cache_dir)
            custom = self._custom.get(organization_id) if organization_id else None
            if custom is None or organization_id is None:
                return self._base
            cached = self._engines.get(organization_id)
            if cached is None:
                merged = self._base.database.merge(custom, replace=True)
                cached = self._engines[organization_id] = FingerprintEngine(merged, cache_dir=self._cache_dir)
                while len(self._engines) > MAX_CACHED_ORGANIZATIONS:
                    self._engines.popitem(last=False)
            self._engines.move_to_end(organization_id)
            return cached

    def set_custom(self, organization_id: str, technologies_json: Mapping[str, Any] | str | None,
                   version: datetime | None = None) -> list[str]:
        """Replace an organization's custom fingerprints (None or {} removes them); `version` is the stored set's
        updated_at. Returns the warnings about skipped entries; raises ValueError if the document is not a JSON
        object."""
        custom = database_from_json(technologies_json, label=f"custom:{organization_id}") if technologies_json else None
        if custom is not None:
            budget = self.settings.fingerprints_custom_budget_ms / 1000
            for pattern in _patterns(custom):
                pattern.budgeted(budget)
                if pattern.disabled is not None:
                    custom.warnings.append(f"{pattern.technology}: {pattern.source} pattern disabled: "
                                           f"{pattern.disabled}")
        with self._lock:
            self._engines.pop(organization_id, None)
            if custom is None or not custom.technologies:
                self._custom.pop(organization_id, None)
                self._versions.pop(organization_id, None)
            else:
                self._custom[organization_id] = custom
                self._versions[organization_id] = version
        return custom.warnings if custom else []

    def current(self, organization_id: str, patterns: Iterable[Pattern]) -> tuple[datetime | None, list[Pattern]]:
        """The version of the organization's set, and those of `patterns` that belong to it (not to a set
        replaced while a scan ran them)."""
        with self._lock:
            custom = self._custom.get(organization_id)
            version = self._versions.get(organization_id)
        owned = {id(p) for p in _patterns(custom)} if custom is not None else set()
        return version, [p for p in patterns if id(p) in owned]

    def apply_disabled(self, organization_id: str, version: datetime,
                       disabled: Mapping[str, tuple[str, datetime]]) -> int:
        """Disable the patterns of the organization's set `version` that `disabled` names (pattern identity ->
        reason, when), as another replica (or a previous run) found them; returns how many were running."""
        with self._lock:
            custom = self._custom.get(organization_id)
            if custom is None or self._versions.get(organization_id) != version:
                return 0
        newly = 0
        for pattern in _patterns(custom):
            found = disabled.get(pattern.identity)
            if found is not None and pattern.disabled is None:
                pattern.disabled, pattern.disabled_at = found
                newly += 1
        return newly

    def custom_status(self, organization_id: str) -> dict[str, Any]:
        """The organization's custom technologies, and its patterns that no longer run (with why)."""
        with self._lock:
            custom = self._custom.get(organization_id)
        if custom is None:
            return {"technologies": [], "disabled": []}
        disabled = [{"technology": p.technology, "source": p.source, "key": p.key, "pattern": p.regex_text,
                     "reason": p.disabled, "disabled_at": p.disabled_at}
                    for p in _patterns(custom) if p.disabled is not None]
        return {"technologies": sorted(custom.technologies), "disabled": disabled}

    def reload(self) -> None:
        """Recompile from disk (after `fingerprints update`)."""
        with self._lock:
            self._base = None
            self._engines.clear()


def _patterns(database: FingerprintDatabase) -> list[Pattern]:
    """Every pattern of `database`, those of `dom` checks included."""
    found: list[Pattern] = []
    for technology in database.technologies.values():
        found.extend(technology.patterns)
        for check in technology.dom:
            found.extend(check.patterns())
    return found
