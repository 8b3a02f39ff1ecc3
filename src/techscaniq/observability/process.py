"""This process's memory: its use against the limit it runs under (a container's cgroup, or the machine),
and how the C allocator keeps freed memory."""

from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path

_CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
_UNLIMITED = 1 << 60  # cgroup v1 reports "no limit" as a huge number


def resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def memory_limit_bytes() -> int:
    for path in _CGROUP_LIMITS:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < _UNLIMITED:
            return int(text)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_ratio() -> float | None:
    """Resident memory / limit, or None where /proc is not available."""
    try:
        return resident_bytes() / memory_limit_bytes()
    except (OSError, ValueError, IndexError):
        return None


# glibc's mallopt parameters (malloc.h) and the values we set: blocks below 32 MiB come from the heap, and up
# to 64 MiB of freed heap is kept for reuse instead of being returned to the kernel.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024


def retain_freed_memory() -> bool:
    """Let glibc keep freed memory for reuse; True when applied (False where the C library is not glibc).

    Why: each scan parses a page of up to a few MB (Lexbor's tree, the UTF-8 copy hyperscan reads, the text of
    inline scripts) and frees it all again. By default glibc serves such blocks with fresh mmaps and hands
    freed heap back to the kernel soon, so the next scan pays for the same memory again in page faults:
    on the largest corpus pages that was a third of the detection time (docs/benchmarks.md). A long-running
    monitor is better served by keeping it."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
