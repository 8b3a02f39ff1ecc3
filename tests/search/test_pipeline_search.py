"""Search as a user meets it in the embedded deployment: real scans of loopback sites are indexed by the
pipeline's events, the API answers queries and facets within the caller's organization, errors point at the
token, /health and /metrics show the index, and the CLI searches and rebuilds it while the server answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually
from tests.system.test_cli import techscaniq

from techscaniq.api.app import create_app
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

KEY_A, KEY_B = "key-search-a-0123456789", "key-search-b-0123456789"
PAGE = ('<html><head><title>Shop</title><meta name="generator" content="WordPress 6.4.3"></head><body>'
        '<script src="https://js.stripe.com/v3/"></script></body></html>')


@pytest.fixture
async def system(settings: Settings) -> AsyncIterator[MonitoringSystem]:
    configured = settings.model_copy(update={"api_keys": f"org-a:{KEY_A},org-b:{KEY_B}"})
    async with MonitoringSystem(configured, serve_http=False, configure_logs=False) as running:
        yield running


def client(system: MonitoringSystem, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(system)), base_url="http://api.test",
                             headers={"X-API-Key": key})


def config(org: str, name: str, url: str, tags: list[str]) -> dict[str, object]:
    return {"organization_id": org, "name": name, "url": url, "tags": tags,
            "schedule": {"type": "interval", "expression": "3600s"}}


async def test_scanned_sites_are_found_by_the_query_language_within_the_organization(
    system: MonitoringSystem, local_site: LocalSite, settings: Settings, tmp_path: Path
) -> None:
    local_site.route("/", body=PAGE)
    shop = await system.add_monitoring_config(config("org-a", "Shop", local_site.url("/"), ["prod"]))
    await system.add_monitoring_config(config("org-a", "Docs", local_site.url("/docs"), ["staging"]))
    await system.add_monitoring_config(config("org-b", "Their shop", local_site.url("/?b"), ["prod"]))
    a, b = client(system, KEY_A), client(system, KEY_B)
    query = {"q": "tech:WordPress version:<6.5 tag:prod"}

    async def indexed() -> bool:
        answer = (await a.get("/api/v1/search", params=query)).json()
        return answer["total"] == 1 and answer["items"][0]["grade"] is not None

    await eventually(indexed, within=30)
    answer = (await a.get("/api/v1/search", params=query)).json()
    site = answer["items"][0]
    assert site["id"] == shop and site["status"] == "up" and site["tags"] == ["prod"]
    assert {"name": "WordPress", "version": "6.4.3"}.items() <= next(
        t for t in site["technologies"] if t["name"] == "WordPress").items()
    assert "hsts-not-implemented-no-https" in site["findings"]  # plain HTTP: no HSTS
    found = (await a.get("/api/v1/search", params={"q": "finding:hsts-not-implemented-no-https tag:prod"})).json()
    assert [item["name"] for item in found["items"]] == ["Shop"]
    assert (await a.get("/api/v1/search", params={"q": "version:>=6.5"})).json()["total"] == 0

    # The other organization runs the same stack: it sees its own site, never org-a's.
    async def theirs_indexed() -> bool:
        theirs = (await b.get("/api/v1/search", params=query)).json()
        return [item["name"] for item in theirs["items"]] == ["Their shop"]

    await eventually(theirs_indexed, within=30)
    facets = (await b.get("/api/v1/search/facets")).json()
    assert facets["sites"] == 1
    assert [(t["name"], t["sites"]) for t in facets["technologies"] if t["name"] == "WordPress"] == [
        ("WordPress", 1)]
    mine = (await a.get("/api/v1/search/facets", params={"q": "tag:prod"})).json()
    assert mine["sites"] == 1

    # A config write re-indexes the site: its new tag is searchable at once.
    await system.update_monitoring_config(shop, {"tags": ["prod", "eu"]}, "org-a")
    assert (await a.get("/api/v1/search", params={"q": "tag:eu"})).json()["total"] == 1

    # Wrong queries say which token is wrong.
    bad = await a.get("/api/v1/search", params={"q": "tag:prod grade:<Q"})
    assert bad.status_code == 422
    detail = bad.json()["detail"][0]
    assert detail["field"] == "q" and "grade:<Q" in detail["message"] and "character 10" in detail["message"]
    assert (await a.get("/api/v1/search", params={"q": "owner:me"})).json()["detail"][0]["message"].startswith(
        "unknown field 'owner'")
    assert (await a.get("/api/v1/search", params={"sort": "color"})).status_code == 422

    health = await system.health()
    assert health["components"]["search"]["status"] == "running"
    assert "SQLite FTS5" in health["components"]["search"]["detail"]
    from prometheus_client import generate_latest

    from techscaniq.observability.metrics import REGISTRY

    assert b"techscaniq_search_index_lag_seconds" in generate_latest(REGISTRY)

    # The CLI rebuilds the index from the database in another process while this server keeps answering,
    # then both see the new one.
    env = {"DATA_DIR": str(settings.data_dir), "ELASTICSEARCH_URL": ""}
    rebuilt = await asyncio.to_thread(techscaniq, "search", "reindex", cwd=tmp_path, extra_env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "swapped in: 3 sites" in rebuilt.stderr
    searched = await asyncio.to_thread(techscaniq, "search", "tech:wordpress tag:eu", "--org", "org-a", "--json",
                                       cwd=tmp_path, extra_env=env)
    assert searched.returncode == 0, searched.stderr
    assert [item["name"] for item in json.loads(searched.stdout)["items"]] == ["Shop"]
    assert (await a.get("/api/v1/search", params={"q": "tag:eu"})).json()["total"] == 1
    wrong = await asyncio.to_thread(techscaniq, "search", "grade:<Q", "--org", "org-a", cwd=tmp_path, extra_env=env)
    assert wrong.returncode == 1 and "grade:<Q" in wrong.stderr

    # A deleted config leaves search.
    await system.remove_monitoring_config(shop, "org-a")
    assert (await a.get("/api/v1/search", params={"q": "tag:prod"})).json()["total"] == 0
    await a.aclose()
    await b.aclose()


async def test_a_site_that_goes_down_keeps_its_stack_and_grade_in_search_shown_as_down(
    system: MonitoringSystem, local_site: LocalSite, tmp_path: Path
) -> None:
    """The portfolio asks "who runs WordPress below 6.5": a site down for an hour (or answering an error page, or
    bytes that are no page) still runs it. Its document keeps the stack and grade of the newest scan that showed
    the page, its status says down — after the live update and after a rebuild alike."""
    local_site.route("/", body=PAGE)
    shop = await system.add_monitoring_config(config("org-a", "Shop", local_site.url("/"), ["prod"]))
    a = client(system, KEY_A)
    query = {"q": "tech:WordPress version:<6.5"}

    async def found(status: str) -> bool:
        items = (await a.get("/api/v1/search", params=query)).json()["items"]
        return [(item["id"], item["status"]) for item in items] == [(shop, status)] and items[0]["grade"] is not None

    await eventually(lambda: found("up"), within=30, every=0.5)
    local_site.route("/", body="<html><body>Service Unavailable</body></html>", status=503)
    await system.scan_now(shop, wait=True)
    await eventually(lambda: found("down"), within=30, every=0.5)

    rebuilt = await asyncio.to_thread(techscaniq, "search", "reindex", cwd=tmp_path,
                                      extra_env={"DATA_DIR": str(system.settings.data_dir), "ELASTICSEARCH_URL": ""})
    assert rebuilt.returncode == 0 and "swapped in: 1 sites" in rebuilt.stderr, rebuilt.stderr
    assert await found("down")
