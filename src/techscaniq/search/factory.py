"""Which search backend runs is chosen by settings alone: ELASTICSEARCH_URL set means OpenSearch/Elasticsearch
(shared by every replica), unset means SQLite FTS5 in DATA_DIR/search (this process's own copy)."""

from __future__ import annotations

from techscaniq.search.backend import SearchBackend
from techscaniq.settings import Settings


def create_search_backend(settings: Settings) -> SearchBackend:
    if settings.elasticsearch_url:
        from techscaniq.search.opensearch_backend import OpenSearchBackend

        return OpenSearchBackend(settings.elasticsearch_url, prefix=settings.search_index_prefix)
    from techscaniq.search.sqlite_backend import SqliteSearchBackend

    return SqliteSearchBackend(settings.data_dir / "search")


def shared_index(settings: Settings) -> bool:
    """One index for all replicas (one consumer group indexes each event once), or one per process."""
    return settings.elasticsearch_url is not None
