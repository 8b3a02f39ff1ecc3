"""What the command line prints: aligned tables with a header row, colour only on a terminal, and a progress
line for long work (on a terminal only)."""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TextIO

_COLOURS = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}


def use_colour(stream: TextIO | None = None) -> bool:
    """On a terminal, unless NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ


def paint(text: str, colour: str, stream: TextIO | None = None) -> str:
    return f"\033[{_COLOURS[colour]}m{text}\033[0m" if use_colour(stream) else text


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns as wide as their widest cell; the last column is not padded (it is often a long sentence)."""
    cells = [[str(h) for h in headers], *[[" ".join(str(c).split()) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        line = "  ".join(cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row))
        lines.append(paint(line, "bold") if index == 0 else line)
    return "\n".join(lines)


class Progress:
    """One line on stderr saying how far long work is ("rebuilding baselines: 40/120 (33%) · shop"), rewritten
    in place at most every `every` seconds and cleared when the work ends. Nothing at all when stderr is not a
    terminal: logs, pipes and cron mails get only the command's result."""

    def __init__(self, what: str, total: int | None = None, stream: TextIO | None = None,
                 every: float = 0.1) -> None:
        self.what, self.total, self.count = what, total, 0
        self._stream = stream or sys.stderr
        self._on = self._stream.isatty()
        self._every, self._shown_at = every, -math.inf

    def advance(self, by: int = 1, note: str = "") -> None:
        self.update(self.count + by, note)

    def update(self, count: int, note: str = "") -> None:
        self.count = count
        now = time.monotonic()
        finished = self.total is not None and count >= self.total
        if not self._on or (now - self._shown_at < self._every and not finished):
            return
        self._shown_at = now
        done = f"{count}/{self.total} ({count * 100 // max(self.total, 1)}%)" if self.total is not None else str(count)
        line = f"{self.what}: {done}" + (f" · {note}" if note else "")
        width = shutil.get_terminal_size().columns - 1
        self._stream.write(f"\r{line[:width]}\033[K")  # \033[K: erase what a longer line left
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._on and self._shown_at > -math.inf:
            self._stream.write("\r\033[K")
            self._stream.flush()
