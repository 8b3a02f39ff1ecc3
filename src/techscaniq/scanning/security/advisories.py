"""Known-vulnerable client libraries: map detected (library, version) pairs to published advisories.

Libraries come from two places: the technology step's fingerprints (a technology name is mapped to its
advisory component in advisories_data/components.json, stated per library, never guessed: Angular is not
AngularJS) and Retire.js's own extractors run over the page's script URLs and script bodies (retire.py).

Advisories come from two sources, merged: the small set compiled by TechScanIQ (advisories_data/
advisories.json) and the Retire.js repository (Apache-2.0): the snapshot shipped in advisories_data/retirejs/,
or the newer copy `techscaniq advisories update` installed in `<data_dir>/advisories/`, which replaces it.
Ranges compare in semver order (techscaniq.versions), pre-releases included.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from techscaniq.domain.security import LibraryVulnerability
from techscaniq.domain.technology import Detection
from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.egress.thread_guard import guarded
from techscaniq.scanning.security.retire import RetireExtractors, Sighting
from techscaniq.versions import in_range, parse_version

RETIREJS_URL = "https://raw.githubusercontent.com/RetireJS/retire.js/master/repository/jsrepository-v4.json"
RETIREJS_FILE = "retirejs.json"
METADATA_FILE = "metadata.json"
MAX_SOURCE_BYTES = 32 * 1024 * 1024
_SEVERITIES = ("low", "medium", "high", "critical")
# Retire.js writes "no fixed release" as an upper bound like 999.0.0 or 2.999.999 (end of life).
_NO_FIX_PART = 999


class AdvisoryFormatError(ValueError):
    """The advisory file is not in the expected format; the message says where."""


@dataclass(frozen=True)
class Advisory:
    library: str  # the advisory component (a Retire.js library id, e.g. "jquery", "@angular/core")
    advisory_id: str
    severity: str
    summary: str = ""
    at_or_above: str | None = None
    below: str | None = None
    identifiers: tuple[str, ...] = ()
    info: tuple[str, ...] = ()
    source: str = "builtin"

    @property
    def fixed_version(self) -> str | None:
        """The first release out of the affected range; None when there is none (end of life)."""
        parsed = parse_version(self.below) if self.below else None
        if parsed is None or any(part >= _NO_FIX_PART for part in parsed.release):
            return None
        return self.below

    def affects(self, version: str) -> bool:
        numbers = re.findall(r"\d+", version)
        if len(numbers) == 1:
            # Only a major version is known ("3", "2.x"): match only when the whole line is affected,
            # so an imprecise detection never claims a vulnerability its real version may not have.
            return all(in_range(f"{numbers[0]}.{rest}", at_or_above=self.at_or_above, below=self.below)
                       for rest in ("0.0", "99999.99999"))
        return in_range(version, at_or_above=self.at_or_above, below=self.below)


def normalize_name(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def _severity(value: Any) -> str:
    text = str(value or "").strip().lower()
    return text if text in _SEVERITIES else "medium"


def _optional_version(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise AdvisoryFormatError(f"{where}: a version bound must be a string")
    return str(value)


@dataclass
class AdvisoryDatabase:
    """Advisories by component, which technology is which component, and the Retire.js extractors."""

    by_component: dict[str, list[Advisory]] = field(default_factory=dict)
    technologies: dict[str, str] = field(default_factory=dict)  # normalized technology name -> component
    display_names: dict[str, str] = field(default_factory=dict)  # component -> its technology name
    extractors: RetireExtractors | None = None
    sources: dict[str, Any] = field(default_factory=dict)

    def add(self, component: str, advisory: Advisory) -> None:
        self.by_component.setdefault(component, []).append(advisory)

    @property
    def advisory_count(self) -> int:
        return sum(len(items) for items in self.by_component.values())

    def component_for(self, technology: str) -> str | None:
        """The advisory component a detected technology is: the explicit map, else a component of exactly
        that name ("lodash" is lodash); never a near name ("Angular" is not "angularjs")."""
        key = normalize_name(technology)
        if key in self.technologies:
            return self.technologies[key]
        return next((component for component in self.by_component if normalize_name(component) == key), None)

    def advisories_for(self, technology: str) -> list[Advisory]:
        component = self.component_for(technology)
        return list(self.by_component.get(component, [])) if component else []

    def match(self, detections: list[Detection], sightings: Iterable[Sighting] = ()) -> list[LibraryVulnerability]:
        """Every advisory whose affected range holds a library's version, once per (library, version, id).
        Fingerprint detections come first; a Retire.js sighting of the same library and version adds nothing."""
        found: list[tuple[str, str, str, str, str | None]] = []  # component, name, version, detection, evidence
        for detection in detections:
            component = self.component_for(detection.name)
            if detection.version and component:
                found.append((component, detection.name, detection.version, "fingerprint", None))
        names = {component: name for component, name, *_ in found}
        for sighting in sightings:
            name = names.get(sighting.component) or self.display_names.get(sighting.component, sighting.component)
            found.append((sighting.component, name, sighting.version, sighting.detection, sighting.evidence))
        matches: list[LibraryVulnerability] = []
        seen: set[tuple[str, str, str]] = set()
        for component, name, version, how, evidence in found:
            exact = parse_version(version)
            for advisory in self.by_component.get(component, []):
                key = (component, repr(exact.key()) if exact else version, advisory.advisory_id)
                if key in seen or not advisory.affects(version):
                    continue
                seen.add(key)
                matches.append(LibraryVulnerability(
                    library=name, version=version, advisory_id=advisory.advisory_id,
                    identifiers=list(advisory.identifiers), severity=advisory.severity, summary=advisory.summary,
                    at_or_above=advisory.at_or_above, below=advisory.below, info=list(advisory.info),
                    source=advisory.source, component=component, fixed_version=advisory.fixed_version,
                    cve=[item for item in advisory.identifiers if item.upper().startswith("CVE-")],
                    ghsa=[item for item in advisory.identifiers if item.upper().startswith("GHSA-")],
                    detection=how, evidence=evidence,
                ))
        return matches

    # ---- loading ------------------------------------------------------------------------------------

    def load_components(self, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("technologies"), dict):
            raise AdvisoryFormatError("components: expected an object with a 'technologies' object")
        for technology, component in data["technologies"].items():
            if not isinstance(component, str):
                raise AdvisoryFormatError(f"components.technologies.{technology}: expected a component name")
            self.technologies[normalize_name(technology)] = component
            self.display_names.setdefault(component, technology)

    def load_builtin_format(self, data: Any, *, source: str = "builtin") -> None:
        if not isinstance(data, dict) or not isinstance(data.get("libraries"), dict):
            raise AdvisoryFormatError("expected an object with a 'libraries' object")
        for library, entry in data["libraries"].items():
            where = f"libraries.{library}"
            if not isinstance(entry, dict) or not isinstance(entry.get("advisories"), list):
                raise AdvisoryFormatError(f"{where}: expected an object with an 'advisories' list")
            for index, item in enumerate(entry["advisories"]):
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise AdvisoryFormatError(f"{where}.advisories[{index}]: needs a string 'id'")
                self.add(library, Advisory(
                    library=library, advisory_id=item["id"], severity=_severity(item.get("severity")),
                    summary=str(item.get("summary", "")),
                    at_or_above=_optional_version(item.get("at_or_above"), f"{where}.advisories[{index}]"),
                    below=_optional_version(item.get("below"), f"{where}.advisories[{index}]"),
                    identifiers=(item["id"], *[str(extra) for extra in item.get("identifiers", [])]),
                    info=tuple(str(link) for link in item.get("info", [])), source=source,
                ))

    def load_retirejs_format(self, data: Any, *, source: str = "retirejs") -> int:
        """Load a Retire.js jsrepository (v4 format) and compile its extractors. Returns how many
        advisories it added."""
        if not isinstance(data, dict):
            raise AdvisoryFormatError("a Retire.js repository is an object of libraries")
        added = 0
        for library, entry in data.items():
            if library == "retire-example" or not isinstance(entry, dict):
                continue
            vulnerabilities = entry.get("vulnerabilities", [])
            if not isinstance(vulnerabilities, list):
                raise AdvisoryFormatError(f"{library}.vulnerabilities: expected a list")
            for index, item in enumerate(vulnerabilities):
                where = f"{library}.vulnerabilities[{index}]"
                if not isinstance(item, dict):
                    raise AdvisoryFormatError(f"{where}: expected an object")
                identifiers = item.get("identifiers") or {}
                if not isinstance(identifiers, dict):
                    raise AdvisoryFormatError(f"{where}.identifiers: expected an object")
                ids = _retire_ids(identifiers)
                summary = str(identifiers.get("summary", "")).split("\n", 1)[0][:500]
                advisory_id = ids[0] if ids else "retire-" + hashlib.sha1(
                    f"{library}|{summary}|{item.get('below')}".encode(), usedforsecurity=False).hexdigest()[:12]
                self.add(library, Advisory(
                    library=library, advisory_id=advisory_id, severity=_severity(item.get("severity")),
                    summary=summary, at_or_above=_optional_version(item.get("atOrAbove"), where),
                    below=_optional_version(item.get("below"), where), identifiers=tuple(ids),
                    info=tuple(str(link) for link in item.get("info", []) if isinstance(link, str)), source=source,
                ))
                added += 1
        self.extractors = RetireExtractors(data)
        return added


def _retire_ids(identifiers: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for key in ("CVE", "githubID", "osvdb"):
        value = identifiers.get(key)
        values = value if isinstance(value, list) else [value] if value else []
        ids.extend(str(item) for item in values)
    return ids


def _data_file(name: str) -> Any:
    package = resources.files("techscaniq.scanning.security")
    return json.loads(package.joinpath(f"advisories_data/{name}").read_text("utf-8"))


def builtin_data() -> Any:
    return _data_file("advisories.json")


def bundled_retirejs() -> Any:
    """The Retire.js repository snapshot shipped with TechScanIQ (see advisories_data/retirejs/README.md)."""
    return _data_file("retirejs/jsrepository.json")


def advisories_dir(data_dir: Path) -> Path:
    return data_dir / "advisories"


def load_database(data_dir: Path | None = None) -> AdvisoryDatabase:
    """The technology map, the Retire.js repository (installed under data_dir, else the bundled snapshot)
    and the built-in advisories. Retire.js loads first: where both carry an advisory, its entry (with
    GHSA ids and ranges per release line) is the one reported."""
    database = AdvisoryDatabase()
    database.load_components(_data_file("components.json"))
    installed = advisories_dir(data_dir) / RETIREJS_FILE if data_dir is not None else None
    if installed is not None and installed.exists():
        database.sources["retirejs"] = database.load_retirejs_format(json.loads(installed.read_text("utf-8")))
        database.sources["retirejs_origin"] = str(installed)
    else:
        database.sources["retirejs"] = database.load_retirejs_format(bundled_retirejs())
        database.sources["retirejs_origin"] = "bundled snapshot"
    before = database.advisory_count
    database.load_builtin_format(builtin_data())
    database.sources["builtin"] = database.advisory_count - before
    return database


class AdvisoryStore:
    """Hands out the current database; reloads it when `advisories update` replaced the installed file."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self._stamp: float | None = None
        self._database: AdvisoryDatabase | None = None

    def _current_stamp(self) -> float:
        if self.data_dir is None:
            return 0.0
        try:
            return float((advisories_dir(self.data_dir) / RETIREJS_FILE).stat().st_mtime_ns)
        except OSError:
            return 0.0

    def database(self) -> AdvisoryDatabase:
        stamp = self._current_stamp()
        if self._database is None or stamp != self._stamp:
            self._database = load_database(self.data_dir)
            self._stamp = stamp
        return self._database


@dataclass
class AdvisoryUpdate:
    source: str
    path: Path
    libraries: int
    advisories: int
    sha256: str


def _read_source(source: str, *, timeout: float, policy: AddressPolicy) -> bytes:
    if re.match(r"^https?://", source, re.IGNORECASE):
        import httpx

        with guarded(policy), httpx.stream("GET", source, timeout=timeout, follow_redirects=True) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_SOURCE_BYTES:
                    raise AdvisoryFormatError(f"{source} is larger than {MAX_SOURCE_BYTES} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    path = Path(source.removeprefix("file://")).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"advisory source {source!r} is neither an http(s) URL nor an existing file")
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise AdvisoryFormatError(f"{path} is larger than {MAX_SOURCE_BYTES} bytes")
    return path.read_bytes()


def update_advisories(settings: Any, source: str | None = None, *, timeout: float = 60.0) -> AdvisoryUpdate:
    """Install a Retire.js repository (from a URL or a local file; default: the public one) into
    `settings.data_dir/advisories`. The file is validated before it replaces the installed one."""
    chosen = source or RETIREJS_URL
    raw = _read_source(chosen, timeout=timeout, policy=settings.scan_address_policy)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AdvisoryFormatError(f"{chosen} is not JSON: {exc}") from None
    probe = AdvisoryDatabase()
    added = probe.load_retirejs_format(data)
    if added == 0:
        raise AdvisoryFormatError(f"{chosen} holds no Retire.js vulnerabilities")
    target_dir = advisories_dir(Path(settings.data_dir))
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / RETIREJS_FILE
    digest = hashlib.sha256(raw).hexdigest()
    _atomic_write(target, raw)
    metadata = {
        "source": chosen, "installed_at": datetime.now(UTC).isoformat(), "sha256": digest,
        "libraries": len(probe.by_component), "advisories": added, "license": "Apache-2.0 (Retire.js)",
    }
    _atomic_write(target_dir / METADATA_FILE, json.dumps(metadata, indent=2).encode())
    return AdvisoryUpdate(source=chosen, path=target, libraries=len(probe.by_component), advisories=added,
                          sha256=digest)


def _atomic_write(path: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
