"""`techscaniq search "QUERY" --organization ORG` and `techscaniq search reindex`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from techscaniq.settings import Settings
from techscaniq.terminal import Progress

REINDEX = "reindex"


def register(commands: Any) -> None:
    search = commands.add_parser(
        "search", help="search sites, changes or alerts (or `search reindex`: rebuild the index from the database)",
        description="Search one organization's portfolio with the query language of GET /api/v1/search, e.g. "
                    "techscaniq search 'tech:WordPress version:<6.5 tag:prod' --organization org-1. "
                    "`techscaniq search reindex` rebuilds the whole index from the database while the old one "
                    "keeps answering, then swaps it in.")
    search.add_argument("query", help=f"the query, or `{REINDEX}`")
    search.add_argument("--organization", "--org", help="whose portfolio (required to search)")
    search.add_argument("--kind", choices=["sites", "changes", "alerts"], default="sites")
    search.add_argument("--sort", help="e.g. name, -grade, -changed")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--offset", type=int, default=0)
    search.add_argument("--json", action="store_true", help="print the answer as JSON")
    search.set_defaults(handler=_search)


def _search(args: argparse.Namespace) -> int:
    if args.query == REINDEX and not args.organization:
        return asyncio.run(_reindex())
    if not args.organization:
        print("error: --organization: required to search (results are one organization's)", file=sys.stderr)
        return 2
    from techscaniq.search.backend import MAX_LIMIT
    from techscaniq.search.query import parse, parse_sort

    if not 1 <= args.limit <= MAX_LIMIT:
        print(f"error: --limit: between 1 and {MAX_LIMIT}", file=sys.stderr)
        return 2
    query, sort = parse(args.query, args.kind), parse_sort(args.sort, args.kind)  # errors name the token

    async def run() -> int:
        from techscaniq.search.factory import create_search_backend

        backend = create_search_backend(Settings())
        try:
            await backend.start()
            page = await backend.search(args.organization, query, sort, args.limit, max(0, args.offset))
        finally:
            await backend.close()
        if args.json:
            print(json.dumps({"total": page.total, "items": page.items}, indent=2))
            return 0
        for item in page.items:
            print(_line(args.kind, item))
        print(f"{page.total} {args.kind} match" + (f" (showing {len(page.items)})" if page.total > len(page.items)
                                                   else ""), file=sys.stderr)
        return 0

    return asyncio.run(run())


def _line(kind: str, item: dict[str, Any]) -> str:
    if kind == "sites":
        techs = ", ".join(f"{t['name']} {t['version']}" if t.get("version") else t["name"]
                          for t in item.get("technologies", [])[:6])
        return f"{item['id']}  {item.get('grade') or '-':<2}  {item['status']:<7}  {item['url']}  {techs}"
    if kind == "changes":
        return (f"{item['detected_at'][:19]}  {item['impact']:<8}  {item['type']}.{item['change_type']}  "
                f"{item['subject']}  {item['site_url']}")
    return f"{item['triggered_at'][:19]}  {item['severity']:<8}  {item['status']:<12}  {item['title']}"


async def _reindex() -> int:
    from techscaniq.search.factory import create_search_backend
    from techscaniq.search.indexer import SearchIndexer
    from techscaniq.storage.factory import opened_storage

    settings = Settings()
    backend = create_search_backend(settings)
    started = time.monotonic()
    print(f"rebuilding the search index ({backend.description}); the current one keeps answering",
          file=sys.stderr)
    try:
        async with opened_storage(settings) as storage:
            with Progress("indexing") as progress:
                counts = await SearchIndexer(storage, backend).rebuild(lambda kind, count: progress.update(count, kind))
    finally:
        await backend.close()
    print(f"swapped in: {counts.sites} sites, {counts.changes} changes, {counts.alerts} alerts in "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0
