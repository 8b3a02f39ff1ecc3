"""What the command line prints: aligned tables with a header row, colour only on a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
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
