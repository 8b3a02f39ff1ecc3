"""Known-vulnerable client libraries: map detected (name, version) to published advisories.

Two sources, merged: the small set shipped with TechScanIQ (advisories_data/advisories.json, our own
compilation of public CVE facts) and, when the user installed it with `techscaniq advisories update`,
the Retire.js repository (jsrepository.json, Apache-2.0) kept in `<data_dir>/advisories/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from techscaniq.domain.security import LibraryVulnerability
from techscaniq.domain.technology import Detection
from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.egress.thread_guard import guarded
from techscaniq.scanning.security.versions import in_range

RETIREJS_URL = "https://raw.githubusercontent.com/RetireJS/retire.js/master/repository/jsrepository.json"
RETIREJS_FILE = "retirejs.json"
METADATA_FILE = "metadata.json"
MAX_SOURCE_BYTES = 32 * 1024 * 1024
_SEVERITIES = ("low", "medium", "high", "critical")


class AdvisoryFormatError(ValueError):
    """The advisory file is not in the expected format; the message says where."""


@dataclass(frozen=True)
class Advisory:
    library: str
    advisory_id: str
    severity: str
    summary: str = ""
    at_or_above: str | None = None
    below: str | None = None
    identifiers: tuple[str, ...] = ()
    info: tuple[str, ...] = ()
    source: str = "builtin"

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
    """Advisories by normalized library name, plus alias groups (so 'Vue.js' also finds Retire's 'vue')."""

    by_name: dict[str, list[Advisory]] = field(default_factory=dict)
    aliases: dict[str, set[str]] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, advisory: Advisory) -> None:
        self.by_name.setdefault(normalize_name(name), []).append(advisory)

    def link(self, names: list[str]) -> None:
        group = {normalize_name(name) for name in names}
        for name in list(group):
            group |= self.aliases.get(name, set())
        for name in group:
            self.aliases[name] = group

    @property
    def advisory_count(self) -> int:
        return sum(len(items) for items in self.by_name.values())

    def advisories_for(self, name: str) -> list[Advisory]:
        key = normalize_name(name)
        # Fingerprints often say "Knockout.js" where Retire.js says "knockout".
        for candidate in (key, key.removesuffix(".js")):
            found = [item for alias in sorted(self.aliases.get(candidate, {candidate}))
                     for item in self.by_name.get(alias, [])]
            if found:
                return found
        return []

    def match(self, detections: list[Detection]) -> list[LibraryVulnerability]:
        """Every advisory whose affected range holds a detected library's version (one per id)."""
        matches: list[LibraryVulnerability] = []
        for detection in detections:
            if not detection.version:
                continue
            seen: set[str] = set()
            for advisory in self.advisories_for(detection.name):
                if advisory.advisory_id in seen or not advisory.affects(detection.version):
                    continue
                seen.add(advisory.advisory_id)
                matches.append(LibraryVulnerability(
                    library=detection.name, version=detection.version, advisory_id=advisory.advisory_id,
                    identifiers=list(advisory.identifiers), severity=advisory.severity, summary=advisory.summary,
                    at_or_above=advisory.at_or_above, below=advisory.below, info=list(advisory.info),
                    source=advisory.source,
                ))
        return matches

    # ---- loading ------------------------------------------------------------------------------------

    def load_builtin_format(self, data: Any, *, source: str = "builtin") -> None:
        if not isinstance(data, dict) or not isinstance(data.get("libraries"), dict):
            raise AdvisoryFormatError("expected an object with a 'libraries' object")
        for library, entry in data["libraries"].items():
            where = f"libraries.{library}"
            if not isinstance(entry, dict) or not isinstance(entry.get("advisories"), list):
                raise AdvisoryFormatError(f"{where}: expected an object with an 'advisories' list")
            aliases = [str(alias) for alias in entry.get("aliases", [])]
            self.link([library, *aliases])
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
        """Load a Retire.js jsrepository.json. Returns how many advisories it added."""
        if not isinstance(data, dict):
            raise AdvisoryFormatError("a Retire.js repository is an object of libraries")
        added = 0
        for library, entry in data.items():
            if library == "retire-example" or not isinstance(entry, dict):
                continue
            vulnerabilities = entry.get("vulnerabilities", [])
            if not isinstance(vulnerabilities, list):
                raise AdvisoryFormatError(f"{library}.vulnerabilities: expected a list")
            names = [library, *[str(n) for n in entry.get("bowername", []) if isinstance(n, str)]]
            if isinstance(entry.get("npmname"), str):
                names.append(entry["npmname"])
            self.link(names)
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
        return added


def _retire_ids(identifiers: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for key in ("CVE", "githubID", "osvdb"):
        value = identifiers.get(key)
        values = value if isinstance(value, list) else [value] if value else []
        ids.extend(str(item) for item in values)
    return ids


def builtin_data() -> Any:
    package = resources.files("techscaniq.scanning.security")
    return json.loads(package.joinpath("advisories_data/advisories.json").read_text("utf-8"))


def advisories_dir(data_dir: Path) -> Path:
    return data_dir / "advisories"


def load_database(data_dir: Path | None = None) -> AdvisoryDatabase:
    """The built-in advisories plus, when installed, the Retire.js repository under data_dir."""
    database = AdvisoryDatabase()
    database.load_builtin_format(builtin_data())
    database.sources["builtin"] = database.advisory_count
    if data_dir is not None:
        installed = advisories_dir(data_dir) / RETIREJS_FILE
        if installed.exists():
            added = database.load_retirejs_format(json.loads(installed.read_text("utf-8")))
            database.sources["retirejs"] = added
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
        "libraries": len(probe.by_name), "advisories": added, "license": "Apache-2.0 (Retire.js)",
    }
    _atomic_write(target_dir / METADATA_FILE, json.dumps(metadata, indent=2).encode())
    return AdvisoryUpdate(source=chosen, path=target, libraries=len(probe.by_name), advisories=added, sha256=digest)


def _atomic_write(path: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
