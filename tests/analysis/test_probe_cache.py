"""The security step's redirection and CORS probes are shared between checks of one URL for a while, against real
local HTTP(S) sites that count the requests they receive."""

from __future__ import annotations

from collections.abc import Callable

from tests.analysis.conftest import ContextFactory
from tests.support.fixtures import SiteFactory
from tests.support.testsite import LocalSite, ReceivedRequest, Route

from techscaniq.domain.security import SecurityReport
from techscaniq.scanning.security import SecurityAnalyzer
from techscaniq.scanning.security.probe_cache import ProbeCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cors_reflecting(reflect: list[bool]) -> Callable[[ReceivedRequest], Route]:
    def handler(request: ReceivedRequest) -> Route:
        origin = request.headers.get("origin")
        if origin and reflect[0]:
            return Route(body="<html></html>", headers=[("Access-Control-Allow-Origin", origin),
                                                         ("Access-Control-Allow-Credentials", "true")])
        return Route(body="<html></html>")
    return handler


def probes(site: LocalSite) -> int:
    return sum(1 for request in site.requests if request.headers.get("origin"))


async def check(scan_context: ContextFactory, url: str, analyzer: SecurityAnalyzer) -> SecurityReport:
    ctx = await scan_context(url)
    await analyzer.analyze(ctx)
    assert ctx.result.security is not None
    return ctx.result.security


async def test_checks_of_one_site_share_its_probes_until_they_expire(
        site_factory: SiteFactory, scan_context: ContextFactory) -> None:
    site, plain = await site_factory(tls=True), await site_factory()
    reflect = [True]
    site.set("/", cors_reflecting(reflect))
    plain.redirect("/", site.url("/"), status=301)
    clock = Clock()
    analyzer = SecurityAnalyzer(http_port=plain.port)
    analyzer.probes = ProbeCache(600, clock=clock)

    reports = [await check(scan_context, site.url("/"), analyzer) for _ in range(3)]  # three configs, one URL
    assert (probes(site), len(plain.requests)) == (1, 1)  # one CORS probe, one plain-HTTP probe, not three
    assert {r.finding("cross-origin-resource-sharing").result for r in reports  # type: ignore[union-attr]
            } == {"cross-origin-resource-sharing-implemented-with-universal-access"}
    assert {r.finding("redirection").result for r in reports} == {"redirection-to-https"}  # type: ignore[union-attr]

    reflect[0] = False  # the site fixes its CORS policy: seen once the answer is older than the time to live
    clock.now += 599
    assert (await check(scan_context, site.url("/"), analyzer)).score == reports[0].score
    clock.now += 2
    fixed = await check(scan_context, site.url("/"), analyzer)
    assert (probes(site), len(plain.requests)) == (2, 2)
    assert fixed.finding("cross-origin-resource-sharing").modifier == 0  # type: ignore[union-attr]
    assert fixed.score > reports[0].score


async def test_without_a_time_to_live_every_check_probes(site_factory: SiteFactory,
                                                         scan_context: ContextFactory) -> None:
    site = await site_factory(tls=True)
    site.set("/", cors_reflecting([True]))
    analyzer = SecurityAnalyzer(probe_cache_seconds=0)
    for _ in range(2):
        await check(scan_context, site.url("/"), analyzer)
    assert probes(site) == 2
