"""A real small filesystem (tmpfs of a fixed size) to fill up: what a full disk does to a running process.

Mounting needs root (as CI and `make test` run here); elsewhere the test is skipped on a developer's machine and
fails in CI, like a missing service."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(path: Path, megabytes: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        why = f"cannot mount a tmpfs at {path}: {mounted.stderr.strip() or mounted.returncode}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem has no room left; delete the returned file to free the space."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    # Unbuffered: a buffered file's close would flush what the full disk refused and raise ENOSPC once more
    # (seen in whole-suite runs, depending on where the last write stopped).
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler
