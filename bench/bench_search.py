"""Search benchmark: index throughput and query latency of both search backends, against the core database.

    .venv/bin/python -m bench.bench_search [--sites 100000] [--changes 1000000] [--repeat 50] [--seed 19]

A synthetic portfolio (deterministic from --seed): sites with technologies and versions, grades, findings, CVEs
and tags, one latest scan each, and changes over the last 180 days, in 50 organizations of which the measured one
(`org-00`) holds a fifth. It is written to a real core database (SQLite, the embedded default) with bulk inserts:
that write is the reference for indexing. Each backend is then filled by `SearchIndexer.rebuild()` - what
`techscaniq search reindex` runs: it reads the core database by key and writes the index - SQLite FTS5 always,
OpenSearch when ELASTICSEARCH_URL is set (indices under a prefix of this run's own, deleted afterwards).

Each query of the language is timed --repeat times (total and the first page of 20) next to the same question
asked of the core tables in plain SQL (LIKE over the JSON documents, json_each, the indexed columns where there
are any; versions compared in Python since SQL cannot): p50/p99 and the ratio reference/search (above 1: the
search is that many times faster). The totals of both are printed, and must agree."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.scan import ScanResult
from techscaniq.domain.security import SecurityFinding, SecurityReport
from techscaniq.domain.technology import Detection
from techscaniq.search.backend import SearchBackend
from techscaniq.search.documents import GRADES, grade_rank, version_key, week_start
from techscaniq.search.indexer import SearchIndexer
from techscaniq.search.query import Kind, parse, parse_sort
from techscaniq.search.sqlite_backend import SqliteSearchBackend
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.base import document
from techscaniq.storage.sql.tables import changes as changes_table
from techscaniq.storage.sql.tables import monitoring_configs, scans

ORGANIZATIONS = 50
MEASURED = "org-00"
NOW = datetime.now(UTC)
WORDS = ("acme", "northwind", "contoso", "globex", "initech", "umbrella", "hooli", "vandelay", "wayne", "stark",
         "tyrell", "cyberdyne", "oscorp", "wonka", "soylent", "aperture", "gringotts", "monarch", "dunder", "pied")
KINDS_OF_SITE = ("shop", "blog", "docs", "portal", "api", "careers", "status", "help", "news", "app")
TAGS = ("prod", "staging", "eu", "us", "marketing", "internal", "legacy", "pci")
# (name, versions or () for none, categories, share of sites)
TECHNOLOGIES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], float], ...] = (
    ("WordPress", ("5.8.3", "5.9.5", "6.0.2", "6.2.1", "6.3.4", "6.4.3", "6.5.2", "6.5.5", "6.6.1", "6.7"),
     ("CMS", "Blogs"), 0.40),
    ("jQuery", ("1.12.4", "2.2.4", "3.4.1", "3.5.1", "3.6.0", "3.7.1"), ("JavaScript libraries",), 0.60),
    ("Nginx", ("1.18.0", "1.22.1", "1.24.0", "1.25.3"), ("Web servers", "Reverse proxies"), 0.45),
    ("Apache HTTP Server", ("2.4.41", "2.4.57", "2.4.58"), ("Web servers",), 0.25),
    ("PHP", ("7.4.33", "8.0.30", "8.1.27", "8.2.15", "8.3.2"), ("Programming languages",), 0.45),
    ("React", ("16.14.0", "17.0.2", "18.2.0", "18.3.1"), ("JavaScript frameworks",), 0.30),
    ("Vue.js", ("2.6.14", "2.7.16", "3.3.4", "3.4.21"), ("JavaScript frameworks",), 0.12),
    ("Stripe", (), ("Payment processors",), 0.15),
    ("PayPal", (), ("Payment processors",), 0.08),
    ("Google Analytics", (), ("Analytics",), 0.55),
    ("Cloudflare", (), ("CDN",), 0.35),
    ("Bootstrap", ("3.4.1", "4.6.2", "5.3.2"), ("UI frameworks",), 0.35),
    ("WooCommerce", ("7.9.0", "8.5.2", "8.9.1"), ("Ecommerce",), 0.10),
    ("Shopify", (), ("Ecommerce",), 0.06),
    ("Drupal", ("9.5.11", "10.1.6", "10.2.3"), ("CMS",), 0.05),
    ("Lodash", ("4.17.15", "4.17.21"), ("JavaScript libraries",), 0.20),
    ("Moment.js", ("2.24.0", "2.29.4"), ("JavaScript libraries",), 0.10),
    ("HubSpot", (), ("Marketing automation",), 0.10),
    ("Font Awesome", ("4.7.0", "5.15.4", "6.5.1"), ("Font scripts",), 0.30),
    ("Varnish", (), ("Caching",), 0.07),
)
FINDINGS = ("hsts-not-implemented", "csp-not-implemented", "x-frame-options-not-implemented",
            "referrer-policy-not-implemented", "cookies-without-secure-flag", "x-content-type-options-not-implemented")
GRADE_WEIGHTS = (2, 6, 5, 6, 8, 7, 8, 9, 7, 6, 8, 5, 23)  # A+ ... F: most real sites fail a header or two
CHANGE_KINDS = (ChangeKind.TECHNOLOGY, ChangeKind.SECURITY, ChangeKind.PERFORMANCE, ChangeKind.AVAILABILITY)
CHANGE_TYPES = {ChangeKind.TECHNOLOGY: ("added", "removed", "upgraded", "downgraded"),
                ChangeKind.SECURITY: ("regressed", "improved"),
                ChangeKind.PERFORMANCE: ("regressed", "improved"), ChangeKind.AVAILABILITY: ("down", "up")}
SUBJECTS = {ChangeKind.SECURITY: ("strict-transport-security", "content-security-policy", "x-frame-options", "grade"),
            ChangeKind.PERFORMANCE: ("ttfb_ms", "total_time_ms", "page_size_bytes"),
            ChangeKind.AVAILABILITY: ("site",)}
CHANGE_DAYS = 180
CHUNK = 2000


def _id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"  # random like new_id(): a keyset walk is not in creation order


def _organization(n: int, sites: int) -> str:
    """A fifth of the sites in org-00, the rest spread over the others."""
    share = sites // 5
    return MEASURED if n < share else f"org-{1 + (n - share) % (ORGANIZATIONS - 1):02d}"


def _site(rng: random.Random, n: int, sites: int) -> tuple[MonitoringConfig, ScanResult]:
    org = _organization(n, sites)
    word, what = rng.choice(WORDS), rng.choice(KINDS_OF_SITE)
    created = NOW - timedelta(days=400)
    config = MonitoringConfig.model_validate({
        "id": _id(rng), "organization_id": org, "name": f"{word.title()} {what} {n}",
        "url": f"https://{what}.{word}-{n}.example.com/", "schedule": {"type": "interval", "expression": "6h"},
        "tags": rng.sample(TAGS, rng.randint(0, 3)), "created_at": created, "updated_at": created})
    detections = [Detection(name=name, version=rng.choice(versions) if versions and rng.random() < 0.8 else None,
                            categories=list(categories))
                  for name, versions, categories, share in TECHNOLOGIES if rng.random() < share]
    grade = rng.choices(GRADES, GRADE_WEIGHTS)[0]
    rank = grade_rank(grade) or 0
    failed = rng.sample(FINDINGS, min(len(FINDINGS), max(0, 6 - rank // 2)))
    security = SecurityReport(score=min(100, rank * 9), grade=grade, findings=[
        SecurityFinding(test=finding.rsplit("-not-", 1)[0], result=finding, passed=False, modifier=-5)
        for finding in failed])
    started = NOW - timedelta(hours=rng.uniform(1, 72))
    scan = ScanResult(id=_id(rng), config_id=config.id, organization_id=org, url=config.url, started_at=started,
                      finished_at=started + timedelta(seconds=2), duration_ms=2000.0, technologies=detections,
                      security=security)
    return config, scan


def _changes(rng: random.Random, site_ids: list[tuple[str, str]], count: int) -> Iterator[Change]:
    for n in range(count):
        org, config_id = site_ids[rng.randrange(len(site_ids))]
        kind = rng.choice(CHANGE_KINDS)
        if kind is ChangeKind.TECHNOLOGY:
            name, versions, _, _ = rng.choice(TECHNOLOGIES)
            subject = name
            before, after = (rng.choice(versions), rng.choice(versions)) if versions else (None, None)
        else:
            subject, before, after = rng.choice(SUBJECTS[kind]), None, None
        yield Change(id=_id(rng), organization_id=org, config_id=config_id, scan_id=f"scan-{n}", type=kind,
                     change_type=rng.choice(CHANGE_TYPES[kind]), subject=subject, before=before, after=after,
                     impact=rng.choice(list(Impact)), detected_at=NOW - timedelta(days=rng.uniform(0, CHANGE_DAYS)))


async def write_core(storage: SqlStorage, sites: int, changes: int, seed: int) -> float:
    """The synthetic portfolio into the core tables in bulk; the seconds spent writing (not generating)."""
    rng = random.Random(seed)
    engine, spent = storage.engine, 0.0
    site_ids: list[tuple[str, str]] = []
    for start in range(0, sites, CHUNK):
        pairs = [_site(rng, n, sites) for n in range(start, min(sites, start + CHUNK))]
        config_rows = [{"id": c.id, "organization_id": c.organization_id, "name": c.name, "url": c.url,
                        "paused": False, "document": document(c), "created_at": c.created_at,
                        "updated_at": c.updated_at, "next_run_at": NOW} for c, _ in pairs]
        scan_rows = [{"id": s.id, "config_id": s.config_id, "organization_id": s.organization_id,
                      "status": s.status.value, "trigger": s.trigger.value, "scheduled_for": None,
                      "started_at": s.started_at, "finished_at": s.finished_at, "fingerprint_version": None,
                      "document": document(s), "changes_done": True, "alerts_done": True} for _, s in pairs]
        site_ids += [(c.organization_id, c.id) for c, _ in pairs]
        began = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(insert(monitoring_configs), config_rows)
            await conn.execute(insert(scans), scan_rows)
        spent += time.perf_counter() - began
    generated = _changes(rng, site_ids, changes)
    while batch := [change for _, change in zip(range(CHUNK * 5), generated, strict=False)]:
        rows = [{"id": c.id, "dedupe_key": c.dedupe_key, "organization_id": c.organization_id,
                 "config_id": c.config_id, "scan_id": c.scan_id, "type": c.type.value, "change_type": c.change_type,
                 "subject": c.subject, "impact_rank": c.impact.rank, "data_change": False, "false_positive": False,
                 "detected_at": c.detected_at, "document": document(c)} for c in batch]
        began = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(insert(changes_table), rows)
        spent += time.perf_counter() - began
    return spent


# ---- the queries, and the same questions in plain SQL over the core tables --------------------------------


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # how the core SQLite stores times


SITES_OF_ORG = "FROM monitoring_configs c JOIN scans s ON s.config_id = c.id WHERE c.organization_id = ?"
TECHS_OF_ORG = ("FROM monitoring_configs c JOIN scans s ON s.config_id = c.id,"
                " json_each(s.document, '$.technologies') t WHERE c.organization_id = ?")


def sql_wordpress_below(db: sqlite3.Connection) -> int:
    rows = db.execute(
        f"SELECT c.name, json_extract(t.value, '$.version') {TECHS_OF_ORG} AND s.document LIKE '%\"WordPress\"%'"
        " AND json_extract(t.value, '$.name') = 'WordPress'", (MEASURED,)).fetchall()
    below = version_key("6.5") or ""
    # SQL cannot compare versions part by part: the candidates are compared here, then sorted for the first page.
    names = sorted(name for name, version in rows if (key := version_key(version)) is not None and key < below)
    return len(names)


def sql_grade_below(db: sqlite3.Connection) -> int:
    worse = tuple(GRADES[GRADES.index("B") + 1:])
    marks = ",".join("?" * len(worse))
    condition = f"{SITES_OF_ORG} AND json_extract(s.document, '$.security.grade') IN ({marks})"
    total: int = db.execute(f"SELECT count(*) {condition}", (MEASURED, *worse)).fetchone()[0]
    db.execute(f"SELECT s.document {condition} ORDER BY c.name LIMIT 20", (MEASURED, *worse)).fetchall()
    return total


def sql_sites_changed_within(db: sqlite3.Connection) -> int:
    condition = ("FROM monitoring_configs c WHERE c.organization_id = ? AND EXISTS (SELECT 1 FROM changes ch "
                 "WHERE ch.config_id = c.id AND ch.detected_at >= ?)")
    since = _stamp(NOW - timedelta(days=7))
    total: int = db.execute(f"SELECT count(*) {condition}", (MEASURED, since)).fetchone()[0]
    db.execute(f"SELECT c.document {condition} ORDER BY c.name LIMIT 20", (MEASURED, since)).fetchall()
    return total


def sql_sites_text(db: sqlite3.Connection) -> int:
    condition = f"{SITES_OF_ORG} AND (c.name LIKE '%stripe%' OR c.url LIKE '%stripe%' OR s.document LIKE '%stripe%')"
    total: int = db.execute(f"SELECT count(*) {condition}", (MEASURED,)).fetchone()[0]
    db.execute(f"SELECT s.document {condition} ORDER BY c.name LIMIT 20", (MEASURED,)).fetchall()
    return total


def sql_changes_within(db: sqlite3.Connection) -> int:
    condition = "FROM changes WHERE organization_id = ? AND detected_at >= ?"
    since = _stamp(NOW - timedelta(days=7))
    total: int = db.execute(f"SELECT count(*) {condition}", (MEASURED, since)).fetchone()[0]
    db.execute(f"SELECT document {condition} ORDER BY detected_at DESC LIMIT 20", (MEASURED, since)).fetchall()
    return total


def sql_changes_text(db: sqlite3.Connection) -> int:
    condition = "FROM changes WHERE organization_id = ? AND document LIKE '%stripe%'"
    total: int = db.execute(f"SELECT count(*) {condition}", (MEASURED,)).fetchone()[0]
    db.execute(f"SELECT document {condition} ORDER BY detected_at DESC LIMIT 20", (MEASURED,)).fetchall()
    return total


def sql_facets(db: sqlite3.Connection) -> int:
    sites: int = db.execute(f"SELECT count(*) {SITES_OF_ORG}", (MEASURED,)).fetchone()[0]
    db.execute(f"SELECT json_extract(t.value, '$.name'), json_extract(t.value, '$.version'), count(DISTINCT c.id) "
               f"{TECHS_OF_ORG} GROUP BY 1, 2", (MEASURED,)).fetchall()
    db.execute(f"SELECT json_extract(s.document, '$.security.grade'), count(*) {SITES_OF_ORG} GROUP BY 1",
               (MEASURED,)).fetchall()
    since = week_start(NOW - timedelta(weeks=11)) + " 00:00:00.000000"  # 12 weeks, this one included
    db.execute("SELECT date(detected_at, 'weekday 1', '-7 days'), type, count(*) FROM changes "
               "WHERE organization_id = ? AND detected_at >= ? GROUP BY 1, 2", (MEASURED, since)).fetchall()
    return sites


@dataclass(frozen=True)
class Case:
    label: str
    kind: Kind
    query: str | None  # None: the facets
    reference: Callable[[sqlite3.Connection], int]


CASES = (
    Case("tech:WordPress version:<6.5", "sites", "tech:WordPress version:<6.5", sql_wordpress_below),
    Case("grade:<B", "sites", "grade:<B", sql_grade_below),
    Case("changed:<7d (sites)", "sites", "changed:<7d", sql_sites_changed_within),
    Case("stripe (sites, free text)", "sites", "stripe", sql_sites_text),
    Case("changed:<7d (changes)", "changes", "changed:<7d", sql_changes_within),
    Case("stripe (changes, free text)", "changes", "stripe", sql_changes_text),
    Case("facets (tech share, grades, changes/week)", "sites", None, sql_facets),
)


async def _search_total(backend: SearchBackend, case: Case) -> int:
    if case.query is None:
        return (await backend.facets(MEASURED, parse("", "sites"), 12)).sites
    # The moment of the reference's queries: ages are counted from the same instant (minutes pass between the
    # data being written and the last query; a change crossing the 7 day line would tell the two apart).
    page = await backend.search(MEASURED, parse(case.query, case.kind, now=NOW), parse_sort(None, case.kind), 20, 0)
    return page.total


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def _timed(call: Callable[[], Awaitable[int]], repeat: int) -> tuple[int, list[float]]:
    total = await call()  # warm: the first answer reads the pages from disk
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    return total, samples


async def measure_queries(name: str, backend: SearchBackend, db: sqlite3.Connection, repeat: int,
                          reference_cache: dict[str, tuple[int, float, float]]) -> None:
    print(f"\nqueries on {name}, organization {MEASURED}, p50 / p99 over {repeat} runs (ms):")
    print(f"  {'query':<44} {'search p50':>10} {'p99':>8}   {'SQL p50':>8} {'p99':>8}   {'SQL/search p50':>14}"
          f"  totals (search = SQL)")
    for case in CASES:
        total, samples = await _timed(lambda case=case: _search_total(backend, case), repeat)  # type: ignore[misc]
        p50, p99 = _percentiles(samples)
        if case.label not in reference_cache:
            async def reference(case: Case = case) -> int:
                return case.reference(db)
            ref_total, ref_samples = await _timed(reference, repeat)
            reference_cache[case.label] = (ref_total, *_percentiles(ref_samples))
        ref_total, ref50, ref99 = reference_cache[case.label]
        agree = "" if total == ref_total else "  MISMATCH"
        print(f"  {case.label:<44} {p50:>10.2f} {p99:>8.2f}   {ref50:>8.2f} {ref99:>8.2f}   {ref50 / p50:>13.1f}x"
              f"  {total} = {ref_total}{agree}")


async def main(sites: int, changes: int, repeat: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(_env_file=None, data_dir=Path(scratch) / "data", database_url=None)  # type: ignore[call-arg]
        storage = SqlStorage(settings)
        await storage.start()
        began = time.perf_counter()
        written = await write_core(storage, sites, changes, seed)
        rows = sites * 2 + changes
        print(f"portfolio: {sites:,} sites (+1 scan each), {changes:,} changes, seed {seed}; generated and "
              f"written in {time.perf_counter() - began:.0f} s")
        print(f"reference, core database bulk insert: {rows:,} rows in {written:.1f} s = {rows / written:,.0f} rows/s")
        db = sqlite3.connect(settings.sqlite_path)
        reference_cache: dict[str, tuple[int, float, float]] = {}
        backends: list[tuple[str, SearchBackend]] = [("SQLite FTS5", SqliteSearchBackend(Path(scratch) / "search"))]
        url = os.environ.get("ELASTICSEARCH_URL")
        if url:
            from techscaniq.search.opensearch_backend import OpenSearchBackend

            prefix = f"bench-{random.Random().getrandbits(40):010x}-"
            backends.append(("OpenSearch", OpenSearchBackend(url, prefix=prefix)))
        for name, backend in backends:
            try:
                indexer = SearchIndexer(storage, backend)
                began = time.perf_counter()
                counts = await indexer.rebuild(_progress())
                await backend.refresh()
                seconds = time.perf_counter() - began
                docs = counts.sites + counts.changes + counts.alerts
                print(f"\n{name}: rebuild (techscaniq search reindex) {docs:,} documents in {seconds:.1f} s = "
                      f"{docs / seconds:,.0f} docs/s = {(docs / seconds) / (rows / written):.2f}x the core insert "
                      "rate (reads the core database too)")
                await measure_queries(name, backend, db, repeat, reference_cache)
            finally:
                await _drop(backend)
        db.close()
        await storage.close()


def _progress() -> Callable[[str, int], None]:
    last = [time.monotonic()]

    def report(kind: str, count: int) -> None:
        if time.monotonic() - last[0] >= 30:
            last[0] = time.monotonic()
            print(f"  ... indexed {count:,} {kind}")

    return report


async def _drop(backend: SearchBackend) -> None:
    from techscaniq.search.opensearch_backend import OpenSearchBackend

    await (backend.drop_all() if isinstance(backend, OpenSearchBackend) else backend.close())


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per query (p99 needs 100 to mean much)")
    parser.add_argument("--seed", type=int, default=19)
    return parser.parse_args()


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a long run shows where it is
    args = arguments()
    asyncio.run(main(args.sites, args.changes, args.repeat, args.seed))

