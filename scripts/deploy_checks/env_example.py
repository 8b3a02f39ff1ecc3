""".env.example against the application's settings: every setting is documented with its default, and
every variable documented is a setting or one that a compose file interpolates.

Format: `NAME=value` is active; `# NAME=value` documents the default of a setting left unset; a comment
line right above a variable explains it. Active settings say their default in that comment ("default:").

    python scripts/deploy_checks/env_example.py          # prints the problems, exit 1 if any"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
_LINE = re.compile(r"^(?P<comment>#\s?)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


@dataclass(frozen=True)
class Entry:
    name: str
    value: str
    active: bool
    explanation: str  # the comment lines right above it (shared by a block of related variables)


def entries(path: Path = ENV_EXAMPLE) -> list[Entry]:
    found = []
    explanation: list[str] = []
    last_explanation = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        match = _LINE.match(line)
        if match:
            if explanation:
                last_explanation = " ".join(explanation)
                explanation = []
            found.append(Entry(match["name"], match["value"], match["comment"] is None, last_explanation))
        elif line.startswith("#"):
            text = line.lstrip("#").strip()
            if text and not text.startswith("-" * 8):
                explanation.append(text)
        else:
            explanation, last_explanation = [], ""
    return found


def env_example_names(path: Path = ENV_EXAMPLE) -> set[str]:
    return {entry.name for entry in entries(path)}


def env_example_values(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """The active assignments, as a shell or docker compose would read them."""
    return {entry.name: entry.value for entry in entries(path) if entry.active}


def settings_fields() -> dict[str, Any]:
    from techscaniq.settings import Settings

    return {name.upper(): field for name, field in Settings.model_fields.items()}


def settings_variables() -> set[str]:
    return set(settings_fields())


def _plain(value: Any) -> Any:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


def problems(path: Path = ENV_EXAMPLE, compose_variables: set[str] | None = None) -> list[str]:
    """Everything that makes .env.example disagree with the settings; empty when it is right."""
    from pydantic import TypeAdapter, ValidationError

    fields = settings_fields()
    documented = {entry.name: entry for entry in entries(path)}
    found = [f"{path.name}: setting {name} is not documented" for name in sorted(set(fields) - set(documented))]
    allowed_extra = compose_variables if compose_variables is not None else set()
    for name, entry in documented.items():
        if name not in fields:
            if name not in allowed_extra:
                found.append(f"{path.name}: {name} is neither a setting nor a docker compose variable")
            continue
        field = fields[name]
        if not entry.explanation:
            found.append(f"{path.name}: {name} has no explanation above it")
        if entry.active:
            if "default" not in entry.explanation.lower():
                found.append(f"{path.name}: {name} is set; its explanation must say the default")
            continue
        # A commented line shows the default: it must parse to exactly the default.
        if entry.value == "":
            if field.default is not None:
                found.append(f"{path.name}: # {name}= is empty but the default is {_plain(field.default)!r}")
            continue
        try:
            # Complex settings (dicts, lists) are JSON in the environment, as pydantic-settings reads them.
            adapter = TypeAdapter(field.annotation)
            if field.default_factory is not None or isinstance(field.default, dict | list):
                parsed = adapter.validate_json(entry.value)
            else:
                parsed = adapter.validate_python(entry.value, strict=False)
        except ValidationError as error:
            found.append(f"{path.name}: # {name}={entry.value} is not a valid value: {error.errors()[0]['msg']}")
            continue
        default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        if _plain(parsed) != _plain(default):
            found.append(f"{path.name}: # {name}={entry.value} but the default is {_plain(field.default)!r}")
    return found


def compose_file_variables() -> set[str]:
    """Variables interpolated by the compose files (`${NAME...}`), read from their text."""
    names: set[str] = set()
    for path in ROOT.glob("docker-compose*.yml"):
        names.update(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", path.read_text()))
    return names


def main() -> int:
    found = problems(compose_variables=compose_file_variables())
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if not found:
        print(f"ok: .env.example documents all {len(settings_fields())} settings with their defaults")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
