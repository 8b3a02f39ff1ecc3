"""The technology step of a scan (real local site, real DNS server on loopback), per-organization custom
fingerprints, and the `fingerprints update|info` commands."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import dns.message
import dns.rrset
import pytest
from tests.support.testsite import LocalSite

from techscaniq.domain.config import ScanConfig
from techscaniq.domain.fetch import FetchResult, TLSInfo
from techscaniq.domain.scan import ScanResult
from techscaniq.scanning.analysis import Analyzer, ScanContext
from techscaniq.scanning.fetch import Fetcher
from techscaniq.scanning.fingerprints import FingerprintEngine, load_database
from techscaniq.scanning.fingerprints.analyzer import TechnologyAnalyzer
from techscaniq.scanning.fingerprints.cli import info_command, update_command
from techscaniq.scanning.fingerprints.registry import FingerprintRegistry, base_sources
from techscaniq.settings import Settings

FIXTURES = Path(__file__).parent / "engine_fixtures"
PAGE = (
    '<html><head><script src="https://cdn.anchorstats.test/a-3.2.js"></script>'
    '<link rel="stylesheet" href="/site.css"></head><body><p>hello</p></body></html>'
)


@pytest.fixture
def engine() -> FingerprintEngine:
    return FingerprintEngine(load_database(FIXTURES / "basic"))


def context(fetch: FetchResult, fetcher: Fetcher | None = None, organization_id: str | None = None) -> ScanContext:
    result = ScanResult(config_id="c1", organization_id=organization_id or "o1", url=fetch.url)
    return ScanContext(url=fetch.url, scan_config=ScanConfig(), fetch=fetch, result=result, fetcher=fetcher,
                       organization_id=organization_id)


async def test_scan_step_detects_from_response_robots_stylesheets_and_records_version(
    settings: Settings, local_site: LocalSite, engine: FingerprintEngine
) -> None:
    local_site.route("/", body=PAGE, headers=[("Server", "Acmeserve/2.4"), ("Set-Cookie", "acorn_session=1")])
    local_site.route("/robots.txt", body="User-agent: *\nDisallow: /crawlwise-private/\n", content_type="text/plain")
    local_site.route("/site.css", body=".cedar-grid{display:grid}", content_type="text/css")
    fetcher = Fetcher(settings)
    analyzer = TechnologyAnalyzer(engine, stylesheets=True)
    assert isinstance(analyzer, Analyzer) and analyzer.enabled(ScanConfig())
    assert not analyzer.enabled(ScanConfig(technologies=False))

    ctx = context(await fetcher.fetch(local_site.url("/")), fetcher)
    ctx.fetch.tls = TLSInfo(issuer="CN=Cobalt Trust RSA CA")  # as the fetcher records it for HTTPS
    await analyzer.analyze(ctx)
    found = {d.name: d for d in ctx.result.technologies}
    assert found["Acmeserve"].version == "2.4"
    assert found["Anchor Stats"].version == "3.2"
    assert found["Cedar CMS"].evidence[0].source == "css"  # from the fetched stylesheet
    assert found["Crawlwise"].evidence[0].source == "robots"
    assert "Acorn Shop" in found and "Cobalt CDN" in found
    # The scan result's confidence follows the evidence: the shop's own cookie is certain, the language it
    # implies (\;confidence:50) is a guess at half of that.
    assert (found["Acorn Shop"].confidence, found["Pebble Lang"].confidence) == (100, 25)
    assert found["Pebble Lang"].implied_by == ["Acorn Shop"]
    assert ctx.result.fingerprint_version == engine.version

    # Stylesheets are fetched only when enabled; robots.txt is cached per origin.
    plain = context(await fetcher.fetch(local_site.url("/")), fetcher)
    await TechnologyAnalyzer(engine).analyze(plain)
    assert "Cedar CMS" not in {d.name for d in plain.result.technologies}
    robots_requests = sum(r.path == "/robots.txt" for r in local_site.requests)
    second = context(await fetcher.fetch(local_site.url("/")), fetcher)
    await analyzer.analyze(second)
    assert sum(r.path == "/robots.txt" for r in local_site.requests) == robots_requests
    assert "Crawlwise" in {d.name for d in second.result.technologies}
    await fetcher.aclose()


class _DnsServer(asyncio.DatagramProtocol):
    """A real DNS server on 127.0.0.1 answering from a fixed zone."""

    def __init__(self, zone: dict[tuple[str, str], list[str]]) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        kind = dns.rdatatype.to_text(question.rdtype)
        values = self.zone.get((question.name.to_text(), kind), [])
        if values:
            response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", kind, values))
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
async def dns_port() -> AsyncIterator[int]:
    zone = {("shop.example.test.", "CNAME"): ["edge7.cobaltcdn.test."]}
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _DnsServer(zone), local_addr=("127.0.0.1", 0))
    yield transport.get_extra_info("sockname")[1]
    transport.close()


async def test_dns_records_only_when_enabled(engine: FingerprintEngine, dns_port: int) -> None:
    fetch = FetchResult(url="https://shop.example.test/", status_code=200, body=b"<html></html>")
    enabled = TechnologyAnalyzer(engine, dns=True, nameservers=["127.0.0.1"], dns_port=dns_port)
    ctx = context(fetch)
    await enabled.analyze(ctx)
    cobalt = {d.name: d for d in ctx.result.technologies}["Cobalt CDN"]
    assert cobalt.evidence[0].source == "dns" and cobalt.evidence[0].matched == ".cobaltcdn.test."
    disabled = context(fetch)
    await TechnologyAnalyzer(engine, nameservers=["127.0.0.1"], dns_port=dns_port).analyze(disabled)
    assert disabled.result.technologies == []


async def test_custom_fingerprints_per_organization(settings: Settings) -> None:
    registry = FingerprintRegistry(settings.model_copy(update={"fingerprints_dir": FIXTURES / "basic"}))
    warnings = registry.set_custom("org-a", (FIXTURES / "custom" / "technologies.json").read_text())
    assert warnings == []
    analyzer = TechnologyAnalyzer(registry)
    fetch = FetchResult(url="https://intranet.test/", status_code=200, body=b"<p>intranet-portal-v9</p>")
    mine, theirs = context(fetch, organization_id="org-a"), context(fetch, organization_id="org-b")
    await analyzer.analyze(mine)
    await analyzer.analyze(theirs)
    assert [d.version for d in mine.result.technologies if d.name == "Intranet Portal"] == ["9"]
    assert theirs.result.technologies == []
    assert mine.result.fingerprint_version != theirs.result.fingerprint_version
    assert "custom:org-a" in (mine.result.fingerprint_version or "")
    assert registry.engine("org-a") is registry.engine("org-a")  # compiled once
    assert registry.set_custom("org-a", {"Broken": {"cats": [1], "website": "x", "html": ["(bad"]}})
    with pytest.raises(ValueError, match="JSON object"):
        registry.set_custom("org-a", "[1, 2]")
    registry.set_custom("org-a", None)
    assert registry.engine("org-a") is registry.engine(None)


def test_update_from_directory_and_info(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(source=str(FIXTURES / "basic"), ref=None)
    assert update_command(args, settings) == 0
    installed = settings.data_dir / "fingerprints"
    manifest = json.loads((installed / "manifest.json").read_text())
    assert manifest["technologies"] == len(load_database(FIXTURES / "basic").technologies)
    assert manifest["version"] == load_database(installed).version
    capsys.readouterr()
    assert info_command(argparse.Namespace(), settings) == 0
    out = capsys.readouterr().out
    merged = load_database([*base_sources(settings)])  # our shipped set, then the installed one
    assert installed in base_sources(settings)
    assert f"technologies: {len(merged.technologies)}\n" in out
    assert f"version: {merged.version}\n" in out and manifest["version"] in out
    empty = settings.data_dir / "empty-db"
    (empty / "technologies").mkdir(parents=True)
    with pytest.raises(ValueError, match="no technologies"):
        update_command(argparse.Namespace(source=str(empty), ref=None), settings)
    assert load_database(installed).version == manifest["version"]  # the installed set is kept


async def test_update_from_tarball_url_records_ref(settings: Settings, local_site: LocalSite) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        for file in (FIXTURES / "basic").rglob("*.json"):
            bundle.add(file, arcname=f"webappanalyzer-abc123/src/{file.relative_to(FIXTURES / 'basic')}")
        evil = tarfile.TarInfo("../../escape.json")
        evil.size = 2
        bundle.addfile(evil, io.BytesIO(b"{}"))
    local_site.route("/db.tar.gz", body=buffer.getvalue(), content_type="application/gzip")
    args = argparse.Namespace(source=local_site.url("/db.tar.gz"), ref="abc123def456789")
    assert await asyncio.to_thread(update_command, args, settings) == 0
    database = load_database(settings.data_dir / "fingerprints")
    assert database.version == "db@abc123def456"
    assert "Birch CMS" in database.technologies
    assert not (settings.data_dir.parent / "escape.json").exists()
    missing = argparse.Namespace(source=local_site.url("/nothing.tar.gz"), ref=None)
    with pytest.raises(ValueError, match="HTTP 404"):
        await asyncio.to_thread(update_command, missing, settings)
    closed = argparse.Namespace(source="http://127.0.0.1:9/db.tar.gz", ref=None)  # nothing listens on port 9
    with pytest.raises(ValueError, match="failed"):
        await asyncio.to_thread(update_command, closed, settings)
    assert load_database(settings.data_dir / "fingerprints").version == "db@abc123def456"  # kept
