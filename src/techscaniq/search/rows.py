"""One flat shape for every document kind, which each backend stores in its own way: the values filters and
sorts compare (rank, score, times), keywords per field (lower-cased), technologies, free text and the result."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from techscaniq.search.documents import AlertDocument, ChangeDocument, SiteDocument, version_key
from techscaniq.search.query import Kind

Document = SiteDocument | ChangeDocument | AlertDocument


@dataclass(frozen=True)
class TechValue:
    name: str  # lower-cased, what `tech:` compares
    display: str
    version: str | None
    version_key: str | None


@dataclass
class Row:
    kind: Kind
    id: str
    organization_id: str
    site_id: str
    name: str
    url: str
    rank: int | None  # grade rank (sites), impact rank (changes), severity rank (alerts)
    score: int | None
    changed: datetime | None  # last change (sites), detected (changes), triggered (alerts)
    scanned: datetime | None
    bucket: str | None  # the week of a change
    bucket_type: str | None  # the change's type
    grade: str | None
    text: str
    result: str  # the JSON answered
    keywords: dict[str, list[str]] = field(default_factory=dict)
    techs: list[TechValue] = field(default_factory=list)


def _lower(values: list[str]) -> list[str]:
    return sorted({value.lower() for value in values if value})


def row_of(doc: Document) -> Row:
    result = json.dumps(doc.result(), separators=(",", ":"))
    if isinstance(doc, SiteDocument):
        return Row("sites", doc.id, doc.organization_id, doc.id, doc.name, doc.url, doc.grade_rank, doc.score,
                   doc.last_changed_at, doc.scanned_at, None, None, doc.grade, doc.text(), result,
                   keywords={"category": _lower([c for t in doc.technologies for c in t.categories]),
                             "finding": _lower(doc.findings), "cve": _lower(doc.cves), "tag": _lower(doc.tags),
                             "status": [doc.status]},
                   techs=[TechValue(t.name.lower(), t.name, t.version, t.version_key) for t in doc.technologies])
    if isinstance(doc, ChangeDocument):
        techs = []
        if doc.type == "technology":
            version = doc.after if doc.after is not None else doc.before
            techs = [TechValue(doc.subject.lower(), doc.subject, version, version_key(version))]
        return Row("changes", doc.id, doc.organization_id, doc.site_id, doc.site_name, doc.site_url,
                   doc.impact_rank, None, doc.detected_at, None, doc.week, doc.type, None, doc.text(), result,
                   keywords={"type": [doc.type], "change": [doc.change_type.lower()], "tag": _lower(doc.tags)},
                   techs=techs)
    return Row("alerts", doc.id, doc.organization_id, doc.site_id, doc.site_name, doc.site_url, doc.severity_rank,
               None, doc.triggered_at, None, None, None, None, doc.text(), result,
               keywords={"status": [doc.status], "rule": [doc.rule_name.lower()], "tag": _lower(doc.tags)})


class RowWriter:
    """The IndexWriter of every backend and rebuild here: each kind of document becomes a `Row` the same way, and
    `_store` (the one thing a backend says) writes the rows."""

    async def _store(self, rows: list[Row]) -> None:
        raise NotImplementedError

    async def _put(self, docs: Sequence[Document]) -> None:
        if docs:
            await self._store([row_of(doc) for doc in docs])

    async def put_sites(self, docs: list[SiteDocument]) -> None:
        await self._put(docs)

    async def put_changes(self, docs: list[ChangeDocument]) -> None:
        await self._put(docs)

    async def put_alerts(self, docs: list[AlertDocument]) -> None:
        await self._put(docs)
