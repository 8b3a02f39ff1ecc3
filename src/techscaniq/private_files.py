"""Files and directories only the system's own user can read: the SQLite database, logs, DATA_DIR
and the keys kept in it. Created owner-only (0600 / 0700) whatever the umask is; an existing
directory or file is tightened, never loosened."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def private_directory(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700; an existing directory loses group/other access."""
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    _tighten(path, DIRECTORY_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create an empty `path` as 0600 unless it exists; an existing file loses group/other access."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _tighten(path, FILE_MODE)
    return path


def generated_key(path: Path, generate: Callable[[], str]) -> str:
    """The key kept in `path`, written once (0600, never overwritten, so processes racing agree)."""
    if not path.exists():
        private_directory(path.parent)
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "w") as handle:
                handle.write(generate())
    return path.read_text().strip()


def private_opener(path: str, flags: int) -> int:
    """For open(..., opener=private_opener): a file it creates is 0600 from the first byte."""
    return os.open(path, flags, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        # Not ours to change (a shared, root-owned directory): leave it, the files inside are still 0600.
        with contextlib.suppress(PermissionError):
            path.chmod(current & mode)
