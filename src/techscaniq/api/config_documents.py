"""Config documents in and out: export as JSON or YAML, import with one verdict per item.

An import is not all-or-nothing: each item is created, updated (same id, same organization) or
refused with the fields that are wrong, so a file of 200 sites with one typo loads 199."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, Field, ValidationError

from techscaniq.api.errors import BadRequestError, field_errors
from techscaniq.api.masking import masked_field, restore_masked
from techscaniq.api.services import ApiServices
from techscaniq.domain.common import REVEAL_SECRETS
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.documents import MAX_NESTING, DocumentError, check_document

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_ITEMS = 1000
_SERVER_FIELDS = ("created_at", "updated_at", "schema_version")


class ItemError(BaseModel):
    index: int
    name: str | None = None
    detail: list[dict[str, Any]]


class ImportOutcome(BaseModel):
    dry_run: bool
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    errors: list[ItemError] = Field(default_factory=list)


EXPORT_PAGE = 500  # configs read, rendered and sent at a time


class ConfigPages(Protocol):
    async def find(self, organization_id: str | None = None, limit: int = 1000, offset: int = 0,
                   after: tuple[datetime, str] | None = None) -> list[MonitoringConfig]: ...


async def export_chunks(configs: ConfigPages, organization_id: str, format: Literal["json", "yaml"],
                        context: dict[str, Any] | None = None, page_size: int = EXPORT_PAGE) -> AsyncIterator[str]:
    """The export document ({"configs": [...]}, as json.dumps(indent=2) or yaml.safe_dump would write it whole) in
    pieces, one keyset page of configs at a time: memory stays at one page however many configs there are, and
    every config is in it (the whole document was built in memory, and stopped at 100,000 configs)."""
    after: tuple[datetime, str] | None = None
    started = False
    while True:
        page = await configs.find(organization_id, limit=page_size, after=after)
        documents = [config.model_dump(mode="json", context=context) for config in page]
        if documents:
            yield _rendered(documents, format, first=not started)
            started = True
        if len(page) < page_size:
            break
        after = (page[-1].created_at, page[-1].id)
    if format == "yaml":
        yield "" if started else "configs: []\n"
    else:
        yield "\n  ]\n}" if started else '{\n  "configs": []\n}'


def _rendered(documents: list[dict[str, Any]], format: Literal["json", "yaml"], *, first: bool) -> str:
    if format == "yaml":  # a top-level list renders as the mapping's unindented sequence would
        head = "configs:\n" if first else ""
        return head + yaml.safe_dump(documents, sort_keys=False, allow_unicode=True)
    items = ",\n".join("\n".join("    " + line for line in json.dumps(item, indent=2).splitlines())
                       for item in documents)
    return ('{\n  "configs": [\n' if first else ",\n") + items


def parse_document(raw: bytes, content_type: str) -> list[Any]:
    """The items of a JSON or YAML document: a list, {"configs": [...]}, or one config."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise BadRequestError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("document is not UTF-8 text") from None
    if "yaml" in content_type.lower():
        document = _safe_yaml(text)
    else:
        try:
            document = json.loads(text)
        except RecursionError:
            raise BadRequestError(f"document nested deeper than {MAX_NESTING} levels") from None
        except ValueError as exc:
            raise BadRequestError(f"document is not valid JSON ({exc}); send YAML as application/yaml") from None
    try:
        check_document(document)
    except DocumentError as problem:
        raise BadRequestError(f"document: {problem}") from None
    if isinstance(document, dict) and isinstance(document.get("configs"), list):
        items: list[Any] = document["configs"]
    elif isinstance(document, list):
        items = document
    elif isinstance(document, dict):
        items = [document]
    else:
        raise BadRequestError("document must be a list of configs, {\"configs\": [...]}, or one config")
    if len(items) > MAX_ITEMS:
        raise BadRequestError(f"at most {MAX_ITEMS} configs per import")
    return items


# libyaml where PyYAML was built with it: the pure-Python scanner took 9 s of CPU on 5,000 nested brackets.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENING = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSING = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _safe_yaml(text: str) -> Any:
    """Load a config document after one pass over its events that stops at the first thing refused: an alias
    (a few bytes can expand into a huge structure, "billion laughs"; configs never need them) or nesting deeper
    than MAX_NESTING (checked as the events come, so the refusal costs the first levels, not the document)."""
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise BadRequestError("YAML aliases (*name) are not accepted in config documents")
            depth += isinstance(event, _OPENING) - isinstance(event, _CLOSING)
            if depth > MAX_NESTING:
                raise BadRequestError(f"document nested deeper than {MAX_NESTING} levels")
        return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader (CSafeLoader or SafeLoader)
    except RecursionError:
        raise BadRequestError(f"document nested deeper than {MAX_NESTING} levels") from None
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own limit (1,000), met while it scans ahead
            raise BadRequestError(f"document nested deeper than {MAX_NESTING} levels") from None
        raise BadRequestError(f"document is not valid YAML: {exc}") from None


async def import_configs(services: ApiServices, organization_id: str, items: list[Any],
                         dry_run: bool = False) -> ImportOutcome:
    outcome = ImportOutcome(dry_run=dry_run)
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None
        problem = await _import_one(services, organization_id, item, dry_run, outcome)
        if problem:
            outcome.errors.append(ItemError(index=index, name=name, detail=problem))
    return outcome


async def _import_one(services: ApiServices, organization_id: str, item: Any, dry_run: bool,
                      outcome: ImportOutcome) -> list[dict[str, Any]]:
    if not isinstance(item, dict):
        return [_problem("", "each config must be an object")]
    if item.get("organization_id", organization_id) != organization_id:
        return [_problem("organization_id", "does not match your organization")]
    data = {key: value for key, value in item.items() if key not in _SERVER_FIELDS}
    data["organization_id"] = organization_id
    existing = None
    if isinstance(data.get("id"), str):
        existing = await services.storage.configs.get(data["id"], organization_id)
        if existing is None and await services.storage.configs.get(data["id"]) is not None:
            return [_problem("id", "is already in use")]
        if existing is not None:
            data = restore_masked(data, existing.model_dump(mode="json", context=REVEAL_SECRETS))
    masked = masked_field(data)
    if masked is not None:
        return [_problem(masked, "a masked secret cannot be imported; export with include_secrets=true")]
    try:
        config = services.configs.validate_config(data, existing)
    except ValidationError as exc:
        return field_errors(list(exc.errors()))
    if existing is not None:
        if not dry_run:
            await services.configs.update_monitoring_config(config.id, data, organization_id)
        outcome.updated.append(config.id)
    else:
        if not dry_run:
            await services.configs.add_monitoring_config(config)
        outcome.created.append(config.id)
    return []


def _problem(field: str, message: str) -> dict[str, Any]:
    return {"field": field, "in": "body", "message": message, "type": "value_error"}
