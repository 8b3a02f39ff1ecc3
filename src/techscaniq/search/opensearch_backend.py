"""The scale-out search backend: OpenSearch (or Elasticsearch) at ELASTICSEARCH_URL, through opensearch-py.

At start an index template per kind gives every `{prefix}{kind}-*` index its mapping, and the alias
`{prefix}{kind}` names the live index. A rebuild fills new indices beside the live ones (bulk), then moves
the aliases in one atomic `_aliases` call: searches never see a half-built index. Writes are near real time:
visible after the index refresh (1 s), which `refresh()` forces (tests, the CLI's reindex)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import AsyncOpenSearch, NotFoundError
from opensearchpy.helpers import async_bulk

from techscaniq.domain.common import new_id
from techscaniq.search.backend import FACET_TECHNOLOGIES, FACET_VERSIONS, Facets, SearchPage
from techscaniq.search.documents import week_start
from techscaniq.search.query import KINDS, Changed, Keyword, Kind, Query, Rank, Sort, Tech, Text
from techscaniq.search.rows import Row, RowWriter

_SORT_FIELDS = {"name": "name", "url": "url", "grade": "rank", "score": "score", "scanned": "scanned",
                "changed": "changed", "impact": "rank", "severity": "rank"}
_RANK_FIELDS = {"grade": "rank", "impact": "rank", "severity": "rank", "score": "score"}
_RANGE = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}

# Split text like SQLite's unicode61 tokenizer (on everything but letters and digits), so that the same words
# match in both backends.
SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "max_result_window": 10_000,
    "analysis": {
        "tokenizer": {"words": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
        "analyzer": {"words": {"type": "custom", "tokenizer": "words", "filter": ["lowercase", "asciifolding"]}},
    },
}
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"}, "org": {"type": "keyword"}, "site_id": {"type": "keyword"},
        "name": {"type": "keyword"}, "url": {"type": "keyword"}, "rank": {"type": "integer"},
        "score": {"type": "integer"}, "changed": {"type": "date"}, "scanned": {"type": "date"},
        "bucket": {"type": "keyword"}, "bucket_type": {"type": "keyword"}, "grade": {"type": "keyword"},
        "text": {"type": "text", "analyzer": "words"},
        "result": {"type": "object", "enabled": False},
        "kw": {"type": "object", "dynamic": True,
               "properties": {name: {"type": "keyword"} for name in
                              ("category", "finding", "cve", "tag", "status", "type", "change", "rule")}},
        "techs": {"type": "nested", "properties": {
            "name": {"type": "keyword"}, "display": {"type": "keyword"}, "version": {"type": "keyword"},
            "vkey": {"type": "keyword"}}},
    },
}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _source(row: Row) -> dict[str, Any]:
    return {
        "id": row.id, "org": row.organization_id, "site_id": row.site_id, "name": row.name, "url": row.url,
        "rank": row.rank, "score": row.score, "changed": _time(row.changed), "scanned": _time(row.scanned),
        "bucket": row.bucket, "bucket_type": row.bucket_type, "grade": row.grade, "text": row.text,
        "result": json.loads(row.result), "kw": row.keywords,
        "techs": [{"name": t.name, "display": t.display, "version": t.version, "vkey": t.version_key}
                  for t in row.techs],
    }


def _range(field: str, op: str, value: Any) -> dict[str, Any]:
    if op == "=":
        return {"term": {field: value}}
    return {"range": {field: {_RANGE[op]: value}}}


def _clauses(query: Query, organization_id: str) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [{"term": {"org": organization_id}}]
    excluded: list[dict[str, Any]] = []
    for term in query.terms:
        clause: dict[str, Any]
        if isinstance(term, Text):
            kind = "match_phrase" if term.phrase else "match_phrase_prefix"
            clause = {kind: {"text": term.words}}
        elif isinstance(term, Keyword):
            clause = {"term": {f"kw.{term.field}": term.value}}
        elif isinstance(term, Tech):
            inner: list[dict[str, Any]] = []
            if term.name is not None:
                inner.append({"term": {"techs.name": term.name}})
            if term.version is not None and term.op is not None:
                inner.append(_range("techs.vkey", term.op, term.version))
            clause = {"nested": {"path": "techs", "query": {"bool": {"filter": inner or [{"match_all": {}}]}}}}
        elif isinstance(term, Rank):
            clause = _range(_RANK_FIELDS[term.field], term.op, term.value)
        elif isinstance(term, Changed):
            bounds = {}
            if term.after is not None:
                bounds["gt"] = _time(term.after)
            if term.before is not None:
                bounds["lt"] = _time(term.before)
            clause = {"range": {"changed": bounds}}
        else:  # pragma: no cover - every term kind is handled above
            raise TypeError(term)
        (excluded if term.negated else filters).append(clause)
    return {"bool": {"filter": filters, "must_not": excluded}}


class OpenSearchBackend(RowWriter):
    def __init__(self, url: str, prefix: str = "techscaniq-", timeout_seconds: float = 30.0) -> None:
        self.url = url
        self.prefix = prefix
        self.description = f"OpenSearch {url.rsplit('@', 1)[-1]} ({prefix}*)"
        self.client = AsyncOpenSearch(hosts=[url], timeout=timeout_seconds, max_retries=2, retry_on_timeout=True)
        self._rebuilds: list[_OpenSearchRebuild] = []

    def alias(self, kind: Kind) -> str:
        return f"{self.prefix}{kind}"

    def new_index_name(self, kind: Kind, stamp: str) -> str:
        return f"{self.prefix}{kind}-{stamp}"

    async def start(self) -> None:
        for kind in KINDS:
            await self.client.indices.put_index_template(name=self.alias(kind), body={
                "index_patterns": [f"{self.alias(kind)}-*"], "priority": 100,
                "template": {"settings": SETTINGS, "mappings": MAPPINGS},
            })
        stamp = new_id()[:12].lower()
        for kind in KINDS:
            if not await self.client.indices.exists_alias(name=self.alias(kind)):
                index = self.new_index_name(kind, stamp)
                await self.client.indices.create(index=index, body={"aliases": {self.alias(kind): {}}})

    async def close(self) -> None:
        await self.client.close()

    async def drop_all(self) -> None:
        """Delete every index and template of this prefix (what a test or a benchmark run made), then close."""
        await self.client.indices.delete(index=f"{self.prefix}*", params={"ignore_unavailable": "true"})
        for kind in ("sites", "changes", "alerts"):
            await self.client.indices.delete_index_template(name=self.alias(kind), ignore=[404])
        await self.close()

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except Exception:
            return False

    async def refresh(self) -> None:
        await self.client.indices.refresh(index=",".join(self.alias(kind) for kind in KINDS))

    # ---- writing ---------------------------------------------------------------------------------------

    async def write(self, rows: list[Row], indices: dict[Kind, str] | None = None) -> None:
        actions = [{"_op_type": "index", "_index": (indices or {}).get(row.kind) or self.alias(row.kind),
                    "_id": row.id, "_source": _source(row)} for row in rows]
        await async_bulk(self.client, actions, chunk_size=1000, max_retries=2)

    async def _store(self, rows: list[Row]) -> None:
        await self.write(rows)
        for rebuild in list(self._rebuilds):  # writes during a rebuild reach the new indices too
            await rebuild.write(rows)

    async def delete_site(self, organization_id: str, site_id: str) -> None:
        body = {"query": {"bool": {"filter": [{"term": {"org": organization_id}}, {"term": {"site_id": site_id}}]}}}
        await self.client.delete_by_query(index=",".join(self.alias(kind) for kind in KINDS), body=body,
                                          params={"refresh": "true", "conflicts": "proceed"})

    # ---- reading ---------------------------------------------------------------------------------------

    async def search(self, organization_id: str, query: Query, sort: Sort, limit: int, offset: int) -> SearchPage:
        field = _SORT_FIELDS[sort.field]
        descending = not sort.descending if sort.field == "grade" else sort.descending
        body = {"query": _clauses(query, organization_id), "track_total_hits": True, "from": offset, "size": limit,
                "_source": ["result"],
                "sort": [{field: {"order": "desc" if descending else "asc", "missing": "_last"}}, {"id": "asc"}]}
        answer = await self.client.search(index=self.alias(query.kind), body=body)
        hits = answer["hits"]
        return SearchPage(int(hits["total"]["value"]), [hit["_source"]["result"] for hit in hits["hits"]])

    async def facets(self, organization_id: str, query: Query, weeks: int) -> Facets:
        body = {"query": _clauses(query, organization_id), "size": 0, "track_total_hits": True, "aggs": {
            "grades": {"terms": {"field": "grade", "missing": "none", "size": 20}},
            "techs": {"nested": {"path": "techs"}, "aggs": {"names": {
                "terms": {"field": "techs.name", "size": FACET_TECHNOLOGIES,
                          "order": [{"sites": "desc"}, {"_key": "asc"}]},
                "aggs": {"sites": {"reverse_nested": {}},
                         "display": {"terms": {"field": "techs.display", "size": 1}},
                         "versions": {"terms": {"field": "techs.version", "size": FACET_VERSIONS,
                                                "order": [{"sites": "desc"}, {"_key": "asc"}]},
                                      "aggs": {"sites": {"reverse_nested": {}}}}}}}},
        }}
        answer = await self.client.search(index=self.alias("sites"), body=body)
        sites = int(answer["hits"]["total"]["value"])
        technologies = []
        for bucket in answer["aggregations"]["techs"]["names"]["buckets"]:
            count = int(bucket["sites"]["doc_count"])
            display = bucket["display"]["buckets"]
            technologies.append({
                "name": display[0]["key"] if display else bucket["key"], "sites": count,
                "share": round(count / sites, 4) if sites else 0,
                "versions": [{"version": v["key"], "sites": int(v["sites"]["doc_count"])}
                             for v in bucket["versions"]["buckets"]],
            })
        grades = {b["key"]: int(b["doc_count"]) for b in answer["aggregations"]["grades"]["buckets"]}
        since = week_start(datetime.now(UTC) - timedelta(weeks=max(0, weeks - 1)))
        weekly = await self.client.search(index=self.alias("changes"), body={
            "size": 0, "query": {"bool": {"filter": [{"term": {"org": organization_id}},
                                                     {"range": {"bucket": {"gte": since}}}]}},
            "aggs": {"weeks": {"terms": {"field": "bucket", "size": 1000, "order": {"_key": "asc"}},
                               "aggs": {"types": {"terms": {"field": "bucket_type", "size": 20,
                                                            "order": {"_key": "asc"}}}}}},
        })
        per_week = [{"week": w["key"], "type": t["key"], "changes": int(t["doc_count"])}
                    for w in weekly["aggregations"]["weeks"]["buckets"] for t in w["types"]["buckets"]]
        return Facets(sites, technologies, grades, per_week)

    async def count(self, kind: Kind) -> int:
        return int((await self.client.count(index=self.alias(kind)))["count"])

    # ---- rebuilding ------------------------------------------------------------------------------------

    async def live_indices(self, kind: Kind) -> list[str]:
        try:
            return sorted((await self.client.indices.get_alias(name=self.alias(kind))).keys())
        except NotFoundError:
            return []

    async def begin_rebuild(self) -> _OpenSearchRebuild:
        stamp = new_id()[:12].lower()
        indices: dict[Kind, str] = {kind: self.new_index_name(kind, stamp) for kind in KINDS}
        for index in indices.values():
            # Refreshing is paused while bulk loading; the template gives the mapping.
            await self.client.indices.create(index=index, body={"settings": {"refresh_interval": "-1"}})
        rebuild = _OpenSearchRebuild(self, indices)
        self._rebuilds.append(rebuild)
        return rebuild

    def _forget(self, rebuild: _OpenSearchRebuild) -> None:
        with contextlib.suppress(ValueError):
            self._rebuilds.remove(rebuild)


class _OpenSearchRebuild(RowWriter):
    def __init__(self, backend: OpenSearchBackend, indices: dict[Kind, str]) -> None:
        self._backend = backend
        self.indices = indices

    async def write(self, rows: list[Row]) -> None:
        await self._backend.write(rows, self.indices)

    async def _store(self, rows: list[Row]) -> None:
        await self.write(rows)

    async def commit(self) -> None:
        """Point the aliases at the new indices in one atomic call, then drop the old ones."""
        client = self._backend.client
        names = ",".join(self.indices.values())
        await client.indices.put_settings(index=names, body={"index": {"refresh_interval": None}})
        await client.indices.refresh(index=names)
        actions: list[dict[str, Any]] = []
        old: list[str] = []
        for kind, index in self.indices.items():
            alias = self._backend.alias(kind)
            for previous in await self._backend.live_indices(kind):
                actions.append({"remove": {"index": previous, "alias": alias}})
                old.append(previous)
            actions.append({"add": {"index": index, "alias": alias}})
        await client.indices.update_aliases(body={"actions": actions})
        self._backend._forget(self)
        if old:
            await client.indices.delete(index=",".join(old), params={"ignore_unavailable": "true"})

    async def abort(self) -> None:
        self._backend._forget(self)
        await self._backend.client.indices.delete(index=",".join(self.indices.values()),
                                                  params={"ignore_unavailable": "true"})
