"""Limits every document a tenant sends (API bodies, config files, fingerprints) must keep before it is used.

PostgreSQL refuses NUL characters in text and JSON, and the JSON and YAML parsers recurse once per level of
nesting: without these checks such input reaches the database or the interpreter's stack and answers 500."""

from __future__ import annotations

from typing import Any

MAX_NESTING = 64  # a config nests about 8 levels; custom fingerprints about 6


class DocumentError(ValueError):
    """A document breaks one of the limits; `field` is the dotted path of the offending value ('' for the root)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field, self.reason = field, message


def check_document(document: Any, max_nesting: int = MAX_NESTING) -> None:
    """Raises DocumentError for nesting past `max_nesting` or a NUL character in any key or string.
    Iterative (an explicit stack), so the check itself cannot run out of stack."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > max_nesting:
            raise DocumentError(".".join(path[:8]) + ".…", f"nested deeper than {max_nesting} levels")
        if isinstance(value, str):
            if "\x00" in value:
                raise DocumentError(".".join(path), "must not contain NUL characters")
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and "\x00" in key:
                    raise DocumentError(".".join(path), "keys must not contain NUL characters")
                stack.append((item, (*path, str(key))))
        elif isinstance(value, list):
            stack.extend((item, (*path, str(index))) for index, item in enumerate(value))
