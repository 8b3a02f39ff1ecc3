"""What every search backend offers (SQLite FTS5 embedded, OpenSearch scale-out): the same answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from techscaniq.search.documents import AlertDocument, ChangeDocument, SiteDocument
from techscaniq.search.query import Kind, Query, Sort

MAX_LIMIT = 200
MAX_OFFSET = 10_000  # deeper pages: narrow the query (OpenSearch's max_result_window)
FACET_TECHNOLOGIES = 50
FACET_VERSIONS = 20


@dataclass
class SearchPage:
    total: int
    items: list[dict[str, Any]]


@dataclass
class Facets:
    sites: int
    technologies: list[dict[str, Any]]  # {"name", "sites", "share", "versions": [{"version", "sites"}]}
    grades: dict[str, int]  # grade (or "none") -> sites
    changes_per_week: list[dict[str, Any]] = field(default_factory=list)  # {"week", "type", "changes"}

    def as_dict(self) -> dict[str, Any]:
        return {"sites": self.sites, "technologies": self.technologies, "grades": self.grades,
                "changes_per_week": self.changes_per_week}


class IndexWriter(Protocol):
    async def put_sites(self, docs: list[SiteDocument]) -> None: ...

    async def put_changes(self, docs: list[ChangeDocument]) -> None: ...

    async def put_alerts(self, docs: list[AlertDocument]) -> None: ...


class Rebuild(IndexWriter, Protocol):
    """A new index filled beside the live one, which keeps answering until `commit` swaps them."""

    async def commit(self) -> None: ...

    async def abort(self) -> None: ...


class SearchBackend(IndexWriter, Protocol):
    description: str

    async def start(self) -> None:
        """Create what is missing (tables, templates, aliases)."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    async def refresh(self) -> None:
        """Make every write so far visible to searches (OpenSearch is near real time; SQLite at once)."""
        ...

    async def delete_site(self, organization_id: str, site_id: str) -> None:
        """The site and its changes and alerts (its config was deleted)."""
        ...

    async def search(self, organization_id: str, query: Query, sort: Sort, limit: int, offset: int) -> SearchPage:
        ...

    async def facets(self, organization_id: str, query: Query, weeks: int) -> Facets:
        """Over the sites matching `query` (all when empty); changes per week over the last `weeks` weeks."""
        ...

    async def count(self, kind: Kind) -> int: ...

    async def begin_rebuild(self) -> Rebuild: ...
