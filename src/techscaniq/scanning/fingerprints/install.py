"""Installing a Wappalyzer-format database into DATA_DIR/fingerprints (`techscaniq fingerprints update`).

From a local directory, a tarball or zip URL, or a GitHub repository at a ref (by default the
maintained community database, enthec/webappanalyzer). The new set is validated before it replaces
the old one, and a manifest records where it came from so every scan can name its fingerprint version.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from techscaniq.egress.address_guard import AddressPolicy, BlockedAddressError
from techscaniq.egress.thread_guard import guarded
from techscaniq.scanning.fingerprints.database import MANIFEST, load_database

DEFAULT_REPOSITORY = "https://github.com/enthec/webappanalyzer"
DEFAULT_REF = "main"
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
_DATA_FILES = ("categories.json", "groups.json")


def install(
    source: str | None, ref: str | None, destination: Path, policy: AddressPolicy = AddressPolicy(),
    downloaded: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Install and return the manifest. Raises ValueError with the cause when the source is unusable.
    A download connects only where `policy` allows (the scan policy: the same network scans may reach);
    `downloaded` hears the bytes received so far."""
    source = source or DEFAULT_REPOSITORY
    with tempfile.TemporaryDirectory(prefix="fingerprints-") as scratch:
        if Path(source).is_dir():
            root = _find_root(Path(source))
            source_name = Path(source).resolve().name
        else:
            url = _archive_url(source, ref)
            _extract(_download(url, policy, downloaded or (lambda size: None)), Path(scratch) / "unpacked")
            root = _find_root(Path(scratch) / "unpacked")
            source_name = _repository_name(source) or PurePosixPath(url).name.split(".")[0]
        staged = Path(scratch) / "staged"
        (staged / "technologies").mkdir(parents=True)
        for file in sorted((root / "technologies").glob("*.json")):
            shutil.copyfile(file, staged / "technologies" / file.name)
        for name in _DATA_FILES:
            if (root / name).is_file():
                shutil.copyfile(root / name, staged / name)
        database = load_database(staged)
        if not database.technologies:
            raise ValueError(f"no technologies found in {source}")
        manifest = {
            "source": source,
            "source_name": source_name,
            "ref": ref,
            "version": None,  # filled below: it depends on this manifest's name and ref
            "digest": database.sources[0].digest,
            "installed_at": datetime.now(UTC).isoformat(),
            "technologies": len(database.technologies),
            "categories": len(database.categories),
            "warnings": len(database.warnings),
        }
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        manifest["version"] = load_database(staged).version
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        destination.parent.mkdir(parents=True, exist_ok=True)
        previous = destination.with_name(destination.name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        if destination.exists():
            destination.rename(previous)
        shutil.move(str(staged), destination)
        shutil.rmtree(previous, ignore_errors=True)
        return manifest


def _repository_name(source: str) -> str | None:
    if source.startswith("https://github.com/"):
        parts = source.removeprefix("https://github.com/").strip("/").split("/")
        return parts[1].removesuffix(".git") if len(parts) >= 2 else None
    return None


def _archive_url(source: str, ref: str | None) -> str:
    if not source.startswith(("http://", "https://")):
        raise ValueError(f"fingerprint source is neither a directory nor an http(s) URL: {source}")
    owner_repo = source.removeprefix("https://github.com/").strip("/").removesuffix(".git")
    if source.startswith("https://github.com/") and owner_repo.count("/") == 1:
        return f"https://codeload.github.com/{owner_repo}/tar.gz/{ref or DEFAULT_REF}"
    return source


def _download(url: str, policy: AddressPolicy, downloaded: Callable[[int], None]) -> bytes:
    import httpx

    chunks: list[bytes] = []
    size = 0
    try:
        with guarded(policy), httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as response:
            if response.status_code != 200:
                raise ValueError(f"download of {url} failed: HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise ValueError(f"download of {url} is larger than {MAX_DOWNLOAD_BYTES} bytes")
                chunks.append(chunk)
                downloaded(size)
    except (httpx.HTTPError, BlockedAddressError) as exc:
        raise ValueError(f"download of {url} failed: {exc}") from exc
    return b"".join(chunks)


def _extract(archive: bytes, target: Path) -> None:
    """Unpack only regular files with safe relative paths (no absolute paths, `..`, links or devices)."""
    target.mkdir(parents=True)
    if zipfile.is_zipfile(io.BytesIO(archive)):
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            for info in bundle.infolist():
                if not info.is_dir() and _safe(info.filename):
                    _write(target, info.filename, bundle.read(info))
        return
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as bundle:
            for member in bundle.getmembers():
                if member.isfile() and _safe(member.name):
                    extracted = bundle.extractfile(member)
                    if extracted is not None:
                        _write(target, member.name, extracted.read())
    except tarfile.TarError as exc:
        raise ValueError(f"not a tar or zip archive: {exc}") from exc


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and name.endswith(".json")


def _write(target: Path, name: str, data: bytes) -> None:
    path = target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _find_root(path: Path) -> Path:
    """The directory holding `technologies/` (archives nest it, e.g. webappanalyzer-main/src/)."""
    candidates = sorted((p.parent for p in path.rglob("technologies") if p.is_dir()), key=lambda p: len(p.parts))
    if not candidates:
        raise ValueError(f"no technologies/ directory in {path}")
    return candidates[0]
