"""The same answers from SQLite FTS5 and from a real OpenSearch node: every query form, sorting, paging,
facets, tenant isolation and a rebuild that keeps answering."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import pytest_asyncio
from tests.search.portfolio import ALERTS, CHANGES, NOW, ORG, OTHER, SITES, load, site, tech, week_start

from techscaniq.search.backend import SearchBackend
from techscaniq.search.query import Kind, parse, parse_sort


async def names(backend: SearchBackend, q: str, kind: Kind = "sites", org: str = ORG, sort: str | None = None,
                limit: int = 50, offset: int = 0) -> list[str]:
    page = await backend.search(org, parse(q, kind), parse_sort(sort, kind), limit, offset)
    key = {"sites": "name", "changes": "subject", "alerts": "title"}[kind]
    return [item[key] for item in page.items]


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def fresh(backend: SearchBackend) -> SearchBackend:
    """The portfolio in an index of its own (for tests that change it)."""
    await load(backend)
    await backend.refresh()
    return backend


@pytest.mark.parametrize(("q", "expected"), [
    ("", ["API", "Blog", "Shop"]),
    ("tech:WordPress version:<6.5", ["Shop"]),
    ("tech:wordpress version:>=6.5", ["Blog"]),
    ("version:>=1.25", ["API", "Blog", "Shop"]),  # any technology's version
    ("tech:nginx version:<1.3", []),  # part by part: 1.25.3 is above 1.3
    ("tech:jQuery version:<3.5.0", ["Shop"]),
    ('category:"Payment processors"', ["Shop"]),
    ("grade:<B", ["Shop"]),
    ("grade:>=B", ["API", "Blog"]),
    ("score:>60", ["API", "Blog"]),
    ("finding:hsts-not-implemented", ["Shop"]),
    ("cve:CVE-2020-11023", ["Shop"]),
    ("tag:prod", ["API", "Shop"]),
    ("-tag:prod", ["Blog"]),
    ("changed:<7d", ["Shop"]),
    ("changed:>7d", ["Blog"]),
    ("status:down", ["API"]),
    ("stripe", ["Shop"]),
    ("shop", ["Shop"]),
    ("word", ["Blog", "Shop"]),  # words match as prefixes
    ('"payment processors"', ["Shop"]),
    ("-stripe tag:prod", ["API"]),
    ("tech:WordPress version:<6.5 tag:prod grade:<B", ["Shop"]),
])
async def test_every_query_form_finds_the_same_sites(loaded: SearchBackend, q: str, expected: list[str]) -> None:
    assert await names(loaded, q) == expected


async def test_changes_and_alerts_are_searched_with_their_own_fields(loaded: SearchBackend) -> None:
    assert await names(loaded, "stripe", "changes") == ["Stripe"]
    assert await names(loaded, "type:security impact:>=high", "changes") == ["strict-transport-security"]
    assert await names(loaded, "tag:staging changed:>7d", "changes") == ["strict-transport-security"]
    assert await names(loaded, "tech:stripe change:added", "changes") == ["Stripe"]
    assert await names(loaded, "", "changes") == ["Stripe", "strict-transport-security"]  # newest first
    assert await names(loaded, "stripe status:triggered", "alerts") == ["Stripe added on Shop"]
    assert await names(loaded, "severity:>medium", "alerts") == []


async def test_sorting_and_pages(loaded: SearchBackend) -> None:
    assert await names(loaded, "", sort="grade") == ["Blog", "API", "Shop"]  # best grade first
    assert await names(loaded, "", sort="-grade") == ["Shop", "API", "Blog"]
    assert await names(loaded, "", sort="-score") == ["Blog", "API", "Shop"]
    assert await names(loaded, "", sort="changed") == ["Blog", "Shop", "API"]  # never changed: last
    page = await loaded.search(ORG, parse(""), parse_sort("name", "sites"), 2, 1)
    assert page.total == 3 and [item["name"] for item in page.items] == ["Blog", "Shop"]
    assert page.items[0]["url"] == "https://blog.example.com/" and page.items[0]["grade"] == "A"


async def test_another_organization_is_never_seen(loaded: SearchBackend) -> None:
    assert await names(loaded, "shop") == ["Shop"]
    assert await names(loaded, "tech:WordPress version:<6") == []  # only the other tenant runs WordPress 5
    assert await names(loaded, "grade:F") == []
    assert await names(loaded, "stripe", "changes") == ["Stripe"]
    assert [a["id"] for a in (await loaded.search(ORG, parse("stripe", "alerts"), parse_sort(None, "alerts"), 10,
                                                  0)).items] == ["alert-stripe"]
    assert await names(loaded, "tech:WordPress", org=OTHER) == ["Other shop"]
    assert await names(loaded, "", org="org-nobody") == []


async def test_facets_count_only_the_organization(loaded: SearchBackend) -> None:
    facets = await loaded.facets(ORG, parse(""), weeks=8)
    assert facets.sites == 3
    wordpress = next(t for t in facets.technologies if t["name"] == "WordPress")
    assert wordpress["sites"] == 2 and wordpress["share"] == round(2 / 3, 4)
    assert sorted((v["version"], v["sites"]) for v in wordpress["versions"]) == [("6.4.3", 1), ("6.5.2", 1)]
    assert facets.technologies[0]["name"] == "WordPress"
    assert {t["name"] for t in facets.technologies} == {"WordPress", "Stripe", "jQuery", "Nginx"}
    assert facets.grades == {"A": 1, "B": 1, "C": 1}
    weekly = sorted((row["week"], row["type"], row["changes"]) for row in facets.changes_per_week)
    assert weekly == sorted([(CHANGES[0].week, "technology", 1), (CHANGES[1].week, "security", 1)])
    other = await loaded.facets(OTHER, parse(""), weeks=8)
    assert other.sites == 1 and other.grades == {"F": 1}
    assert [(t["name"], t["versions"]) for t in other.technologies if t["name"] == "WordPress"] == [
        ("WordPress", [{"version": "5.0", "sites": 1}])]
    assert [row["changes"] for row in other.changes_per_week] == [1]
    narrowed = await loaded.facets(ORG, parse("tag:prod"), weeks=8)
    assert narrowed.sites == 2 and narrowed.grades == {"B": 1, "C": 1}


async def test_a_site_update_replaces_its_document_and_a_deleted_site_disappears(fresh: SearchBackend) -> None:
    loaded = fresh
    upgraded = SITES[0].model_copy(update={"technologies": [tech("WordPress", "6.6")], "grade": "A",
                                           "grade_rank": 11})
    await loaded.put_sites([upgraded])
    await loaded.refresh()
    assert await names(loaded, "tech:WordPress version:<6.5") == []
    assert await names(loaded, "grade:A") == ["Blog", "Shop"]
    await loaded.delete_site(ORG, "site-shop")
    await loaded.refresh()
    assert await names(loaded, "") == ["API", "Blog"]
    assert await names(loaded, "stripe", "changes") == []
    assert await names(loaded, "", "alerts") == []
    assert await names(loaded, "tech:WordPress", org=OTHER) == ["Other shop"]


async def test_a_rebuild_under_load_keeps_answering_then_swaps(fresh: SearchBackend) -> None:
    loaded = fresh
    answers: list[int] = []
    stop = asyncio.Event()

    async def searcher() -> None:
        while not stop.is_set():
            page = await loaded.search(ORG, parse("tag:prod"), parse_sort(None, "sites"), 10, 0)
            answers.append(page.total)
            await asyncio.sleep(0)

    running = asyncio.create_task(searcher())
    rebuild = await loaded.begin_rebuild()
    await load(rebuild)
    many = [site(f"site-bulk-{i}", ORG, f"Bulk {i:03d}", "B", tags=["prod"], techs=[tech("Nginx", "1.26")])
            for i in range(300)]
    for start in range(0, len(many), 50):
        await rebuild.put_sites(many[start:start + 50])
        await asyncio.sleep(0)
    # Written while the rebuild runs (an event the live indexer handles): in both the old and the new index.
    await loaded.put_sites([site("site-live", ORG, "Live", "A", tags=["prod"], techs=[])])
    await loaded.refresh()
    during = list(answers)
    await rebuild.commit()
    await loaded.refresh()
    await asyncio.sleep(0.05)
    stop.set()
    await running
    assert during and set(during) <= {2, 3}  # the old index answered throughout: never empty, never partial
    assert (await loaded.search(ORG, parse("tag:prod"), parse_sort(None, "sites"), 10, 0)).total == 303
    assert await names(loaded, "live") == ["Live"]
    assert await loaded.count("sites") == len(SITES) + 300 + 1
    assert await names(loaded, "", "alerts") == [ALERTS[0].title]
    assert week_start(NOW)  # the corpus is dated relative to now


async def test_an_aborted_rebuild_leaves_the_live_index(fresh: SearchBackend) -> None:
    loaded = fresh
    rebuild = await loaded.begin_rebuild()
    await rebuild.put_sites([SITES[1]])
    await rebuild.abort()
    assert await names(loaded, "") == ["API", "Blog", "Shop"]


async def test_both_ages_split_the_changed_sites_and_never_changed_is_neither(loaded: SearchBackend) -> None:
    # Shop changed 2 days ago, Blog 20 days ago, API never (tests/search/portfolio.py).
    assert await names(loaded, "changed:<7d") == ["Shop"]
    assert await names(loaded, "changed:>7d") == ["Blog"]
    assert await names(loaded, "-changed:<7d") == ["API", "Blog"]
    assert await names(loaded, "-changed:>7d") == ["API", "Shop"]
    assert await names(loaded, "changed:<7d changed:>1d") == ["Shop"]
    ten_days_ago = (NOW - timedelta(days=10)).date().isoformat()
    assert await names(loaded, f"changed:>{ten_days_ago}") == ["Shop"]
    assert await names(loaded, f"changed:<{ten_days_ago}") == ["Blog"]
    assert await names(loaded, "changed:<7d", "changes") == ["Stripe"]
    assert await names(loaded, "changed:>7d", "changes") == ["strict-transport-security"]


async def test_pre_releases_compare_below_their_release(backend: SearchBackend) -> None:
    versions = {"Alpha": "6.5-alpha.3", "Beta": "6.5b1", "Candidate": "6.5rc2", "Semver beta": "6.5.0-beta.2",
                "Release": "6.5", "Patch": "6.5.1", "Old": "6.4.3"}
    await backend.put_sites([site(f"site-{name.lower().replace(' ', '-')}", ORG, name, "B", tags=[],
                                  techs=[tech("WordPress", version)]) for name, version in versions.items()])
    # Two WordPress versions on one site (a multisite's pages): one site for the technology, one per version.
    twice = [tech("WordPress", "6.5"), tech("WordPress", "6.4.3"), tech("WordPress", "6.5")]
    await backend.put_sites([site("site-twice", ORG, "Twice", "B", tags=[], techs=twice)])
    await backend.refresh()
    pre_releases = ["Alpha", "Beta", "Candidate", "Semver beta"]
    assert await names(backend, "tech:WordPress version:<6.5") == sorted(["Old", "Twice", *pre_releases])
    assert await names(backend, "tech:WordPress version:>=6.5") == ["Patch", "Release", "Twice"]
    wordpress = (await backend.facets(ORG, parse(""), weeks=1)).technologies[0]
    assert wordpress["sites"] == 8
    assert {v["version"]: v["sites"] for v in wordpress["versions"]} == {
        "6.5": 2, "6.4.3": 2, "6.5-alpha.3": 1, "6.5b1": 1, "6.5rc2": 1, "6.5.0-beta.2": 1, "6.5.1": 1}
    # The second version: is any technology's (Twice has 6.5 at or above the beta and 6.4.3 below 6.5).
    assert await names(backend, "tech:WordPress version:>=6.5-beta version:<6.5") == [
        "Candidate", "Semver beta", "Twice"]
    assert await names(backend, "tech:WordPress version:>6.5rc1") == ["Candidate", "Patch", "Release", "Twice"]
    assert await names(backend, "tech:WordPress version:6.5.0") == ["Release", "Twice"]
