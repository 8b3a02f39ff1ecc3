"""The detection engine against a small fixture database written for these tests (engine_fixtures/basic)."""

from __future__ import annotations

from pathlib import Path

import pytest

from techscaniq.domain.technology import Detection
from techscaniq.scanning.fingerprints import DomElement, FingerprintEngine, PageData, load_database

FIXTURES = Path(__file__).parent / "engine_fixtures"


@pytest.fixture(scope="module")
def engine() -> FingerprintEngine:
    return FingerprintEngine(load_database(FIXTURES / "basic"))


def by_name(detections: list[Detection]) -> dict[str, Detection]:
    return {d.name: d for d in detections}


def test_header_pattern_with_version_and_evidence(engine: FingerprintEngine) -> None:
    found = by_name(engine.analyze(PageData(url="https://a.test/", headers=[("Server", "Acmeserve/2.4.1")])))
    acme = found["Acmeserve"]
    assert acme.version == "2.4.1"
    assert acme.confidence == 100
    assert acme.categories == ["Web servers"] and acme.groups == ["Servers"]
    assert acme.cpe == "cpe:2.3:a:acme:acmeserve:*:*:*:*:*:*:*:*"
    [evidence] = acme.evidence
    assert (evidence.source, evidence.key, evidence.matched, evidence.version) == (
        "headers", "server", "Acmeserve/2.4.1", "2.4.1")


def test_header_names_are_case_insensitive_and_empty_pattern_means_presence(engine: FingerprintEngine) -> None:
    found = by_name(engine.analyze(PageData(headers={"x-COBALT-edge": "fra1"})))
    assert "Cobalt CDN" in found
    assert "Cobalt CDN" not in by_name(engine.analyze(PageData(headers={"X-Other": "fra1"})))


def test_cookies_from_set_cookie_and_cookie_headers(engine: FingerprintEngine) -> None:
    set_cookie = [("Set-Cookie", "other=1; Path=/"), ("Set-Cookie", "ACORN_SESSION=abc; HttpOnly")]
    assert "Acorn Shop" in by_name(engine.analyze(PageData(headers=set_cookie)))
    assert "Acorn Shop" in by_name(engine.analyze(PageData(headers=[("Cookie", "x=1; acorn_session=2")])))
    assert "Acorn Shop" not in by_name(engine.analyze(PageData(headers=[("Set-Cookie", "acorn=1")])))


def test_meta_generator_version(engine: FingerprintEngine) -> None:
    html = '<html><head><meta name="Generator" content="Birch CMS 7.2"></head><body></body></html>'
    birch = by_name(engine.analyze(PageData(html=html)))["Birch CMS"]
    assert birch.version == "7.2"
    assert birch.evidence[0].source == "meta" and birch.evidence[0].key == "generator"


def test_script_src_and_inline_scripts(engine: FingerprintEngine) -> None:
    html = (
        '<script src="https://cdn.anchorstats.test/a-3.1.js"></script>'
        "<script>anchorStats.init({ v: '3.1.7' })</script>"
    )
    anchor = by_name(engine.analyze(PageData(html=html)))["Anchor Stats"]
    assert {e.source for e in anchor.evidence} == {"scriptSrc", "scripts"}
    assert anchor.version == "3.1.7"  # the most specific version wins over "3.1"


def test_script_src_is_entity_decoded_and_inline_script_text_is_not_a_src(engine: FingerprintEngine) -> None:
    decoded = '<script src="https://cdn.anchorstats.test/a.js?x=1&amp;y=2"></script>'
    assert "Anchor Stats" in by_name(engine.analyze(PageData(html=decoded)))
    only_text = "<p>see cdn.anchorstats.test/a.js for details</p>"
    assert "Anchor Stats" not in by_name(engine.analyze(PageData(html=only_text)))


def test_html_text_and_css(engine: FingerprintEngine) -> None:
    html = '<link rel="stylesheet" href="/cedar-theme.css"><p>Built with Cedar</p>'
    cedar = by_name(engine.analyze(PageData(html=html)))["Cedar CMS"]
    assert {e.source for e in cedar.evidence} == {"html", "text"}
    styled = by_name(engine.analyze(PageData(html="<style>.cedar-grid{display:grid}</style>")))["Cedar CMS"]
    assert styled.evidence[0].source == "css"
    fetched = by_name(engine.analyze(PageData(html="<p>x</p>", css="a{} .cedar-grid{gap:1px}")))
    assert fetched["Cedar CMS"].evidence[0].source == "css"


def test_text_ignores_script_content(engine: FingerprintEngine) -> None:
    html = "<body><script>var s = 'Built with Cedar';</script><p>hello</p></body>"
    assert "Cedar CMS" not in by_name(engine.analyze(PageData(html=html)))


def test_url_dns_cert_issuer_and_robots(engine: FingerprintEngine) -> None:
    assert "Cobalt CDN" in by_name(engine.analyze(PageData(url="https://img.cobaltcdn.test/x.png")))
    dns = by_name(engine.analyze(PageData(dns={"cname": ["edge7.cobaltcdn.test."]})))["Cobalt CDN"]
    assert dns.evidence[0].source == "dns" and dns.evidence[0].key == "CNAME"
    txt = by_name(engine.analyze(PageData(dns={"TXT": ["v=spf1", "cobalt-verify=123"]})))
    assert "Cobalt CDN" in txt
    assert "Cobalt CDN" in by_name(engine.analyze(PageData(cert_issuer="CN=Cobalt Trust RSA CA")))
    robots = "User-agent: *\nDisallow: /crawlwise-private/\n"
    assert "Crawlwise" in by_name(engine.analyze(PageData(robots=robots)))
    assert "Crawlwise" not in by_name(engine.analyze(PageData(html="Disallow: /crawlwise-private/")))


def test_browser_mode_js_dom_and_xhr(engine: FingerprintEngine) -> None:
    comet = by_name(engine.analyze(PageData(js={"Comet.version": "5.0.1"})))["Comet JS"]
    assert comet.version == "5.0.1" and comet.evidence[0].source == "js"
    dom = {"div.comet-widget": [DomElement(attributes={"data-comet": "v6.2"})]}
    assert by_name(engine.analyze(PageData(dom=dom)))["Comet JS"].version == "6.2"
    assert "Comet JS" in by_name(engine.analyze(PageData(dom={"#comet-root": [DomElement()]})))
    assert "Comet JS" not in by_name(engine.analyze(PageData(dom={"#comet-root": []})))
    assert "Comet JS" in by_name(engine.analyze(PageData(xhr=["https://api.comet.test/v1/events"])))
    chains, selectors = engine.browser_queries()
    assert "Comet.version" in chains and "div.comet-widget" in selectors


def test_ternary_version_both_branches(engine: FingerprintEngine) -> None:
    pro = by_name(engine.analyze(PageData(html='<script src="/coin-pro.js"></script>')))["Coin Mode"]
    free = by_name(engine.analyze(PageData(html='<script src="/coin.js"></script>')))["Coin Mode"]
    assert (pro.version, free.version) == ("2.0", "1.0")


def test_confidence_is_summed_and_capped(engine: FingerprintEngine) -> None:
    one = by_name(engine.analyze(PageData(html="<p>half-a</p>")))["Confident Half"]
    both = by_name(engine.analyze(PageData(html="<p>half-a half-b</p>")))["Confident Half"]
    assert (one.confidence, both.confidence) == (60, 100)
    via = by_name(engine.analyze(PageData(headers=[("Via", "1.1 cobalt")])))["Cobalt CDN"]
    assert via.confidence == 40


def test_implies_with_confidence_and_version_tags(engine: FingerprintEngine) -> None:
    # An implication gives half of Wappalyzer's min(implying, tag): the page shows the shop, not its language.
    found = by_name(engine.analyze(PageData(headers=[("Set-Cookie", "acorn_session=1")])))
    assert found["Pebble Lang"].confidence == 25 and found["Pebble Lang"].implied_by == ["Acorn Shop"]
    html = '<meta name="generator" content="Birch CMS 7">'
    found = by_name(engine.analyze(PageData(html=html)))
    assert found["Birch CMS"].confidence == 100 and found["Pebble Lang"].confidence == 50
    assert found["Birch Engine"].version == "4" and found["Birch Engine"].implied_by == ["Birch CMS"]


def test_implied_confidence_never_exceeds_the_implying_technology(engine: FingerprintEngine) -> None:
    found = by_name(engine.analyze(PageData(html='<div class="x" id="birch-root"></div>')))
    assert found["Birch CMS"].confidence == 50
    assert found["Pebble Lang"].confidence == 25


def test_confidence_grows_with_the_strength_and_number_of_evidences(engine: FingerprintEngine) -> None:
    generator = '<meta name="generator" content="Birch CMS 7">'
    root = '<div class="x" id="birch-root"></div>'
    powered = [("X-Powered-By", "Pebble/2.1")]
    weak_hint = by_name(engine.analyze(PageData(html=root)))
    announced = by_name(engine.analyze(PageData(html=generator)))
    both = by_name(engine.analyze(PageData(html=generator + root, headers=powered)))
    assert (weak_hint["Birch CMS"].confidence, announced["Birch CMS"].confidence) == (50, 100)
    assert len(both["Birch CMS"].evidence) == 2 and both["Birch CMS"].confidence == 100
    # Pebble's own header beats its implication, and the two do not exceed certainty.
    assert (weak_hint["Pebble Lang"].confidence, announced["Pebble Lang"].confidence) == (25, 50)
    assert both["Pebble Lang"].confidence == 100 and both["Pebble Lang"].version == "2.1"


def test_excludes_removes_the_excluded_technology(engine: FingerprintEngine) -> None:
    cedar_only = '<link href="/cedar-theme.css">'
    assert "Cedar CMS" in by_name(engine.analyze(PageData(html=cedar_only)))
    both = cedar_only + '<meta name="generator" content="Birch CMS 7">'
    found = by_name(engine.analyze(PageData(html=both)))
    assert "Birch CMS" in found and "Cedar CMS" not in found


def test_requires_and_requires_category(engine: FingerprintEngine) -> None:
    forms = '<script src="/forms.js"></script>'
    assert "Birch Forms" not in by_name(engine.analyze(PageData(html=forms)))
    with_birch = forms + '<meta name="generator" content="Birch CMS 7">'
    assert "Birch Forms" in by_name(engine.analyze(PageData(html=with_birch)))
    pay = '<script src="/bramble-pay.js"></script>'
    assert "Bramble Pay" not in by_name(engine.analyze(PageData(html=pay)))
    shop = PageData(html=pay, headers=[("Set-Cookie", "acorn_session=1")])  # Acorn Shop is Ecommerce
    assert "Bramble Pay" in by_name(engine.analyze(shop))


def test_nothing_detected_on_an_unrelated_page(engine: FingerprintEngine) -> None:
    assert engine.analyze(PageData(url="https://plain.test/", html="<html><body>hello</body></html>")) == []


def test_hostile_input_does_not_crash(engine: FingerprintEngine) -> None:
    nasty = "<" * 20000 + "<script src='" + "\x00\ud800" * 100 + "'>" + "<div id=birch-root " * 500
    engine.analyze(PageData(url="not a url", headers=[("Set-Cookie", ";;=;")], html=nasty, dns={"TXT": [""]}))


def test_compiled_cache_is_reused_and_a_corrupt_one_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = load_database(FIXTURES / "basic")
    page = PageData(headers=[("Server", "Acmeserve/1.2")], html='<div class="a" id="birch-root"></div>')
    expected = FingerprintEngine(database).analyze(page)
    first = FingerprintEngine(database, cache_dir=tmp_path)
    files = sorted(tmp_path.iterdir())
    assert files and first.analyze(page) == expected
    assert FingerprintEngine(database, cache_dir=tmp_path).analyze(page) == expected
    assert sorted(tmp_path.iterdir()) == files  # the same cache entries were read, not new ones written
    for file in files:
        file.write_bytes(b"[]\ngarbage")
    assert FingerprintEngine(database, cache_dir=tmp_path).analyze(page) == expected
    assert "ignoring fingerprint cache" in caplog.text


def test_exact_html_and_literal_only_modes_agree(engine: FingerprintEngine) -> None:
    literal_only = FingerprintEngine(engine.database, exact_html=False)
    for html in ('<div data-x="1" id="birch-root">', "<p>half-a half-b</p>", '<link href="/cedar-theme.css">'):
        assert engine.analyze(PageData(html=html)) == literal_only.analyze(PageData(html=html))
